#pragma once
// One worker thread's event loop for client connections: an edge-triggered
// epoll set, a queue other threads post work to (woken through an eventfd),
// and a once-a-second tick. Not Asio: Asio's reactor forgets a readiness
// edge that arrives while no operation is pending, so it tries a receive
// before every wait, and without pipelining that receive finds the socket
// empty after every request (one wasted system call per request, measured
// in benchmarks/RESULTS.md, issue 13). Here a connection keeps its own
// readiness flags, so an edge is never lost and a short receive means the
// socket is drained (as nginx does): one receive and one send per request.
// A loop that has been busy for 200 µs without sleeping, serving short
// turns (20 or more ready connections), yields its core once
// (event_loop.cpp says why, and why not after long ones).
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace memcoro::server {

class EventLoop {
 public:
  // What the loop calls when a registered descriptor becomes ready.
  class Handler {
   public:
    virtual void on_ready(std::uint32_t events) = 0;

   protected:
    ~Handler() = default;
  };

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Any thread: run fn on the loop's thread, soon.
  void post(std::function<void()> fn);
  // Any thread: run() returns after the current round.
  void stop();

  // Loop thread only. Watches fd for input, output and hang-up, edge
  // triggered: the handler sees each change once.
  bool add(int fd, Handler& h);
  // Runs until stop(): ready handlers, posted work, and on_tick about once
  // a second.
  void run(const std::function<void()>& on_tick);

 private:
  void drain_posts();
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::mutex mu_;
  std::vector<std::function<void()>> posted_;
  std::atomic<bool> stopped_{false};
  // Since when the loop has been running without sleeping in epoll_wait.
  std::chrono::steady_clock::time_point busy_since_{};
  // Ready connections served since busy_since_.
  long turns_ = 0;
};

}  // namespace memcoro::server
