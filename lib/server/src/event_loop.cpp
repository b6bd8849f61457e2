#include "event_loop.hpp"

#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

namespace memcoro::server {
namespace {

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

// How long a worker may stay busy before it yields its core, how many
// ready connections that stretch must have served for it to yield (short
// turns: 10 µs or less each), and how long an epoll_wait must have taken to
// count as a sleep.
constexpr auto kBusyBudget = std::chrono::microseconds(200);
constexpr long kShortTurns = 20;
constexpr auto kSlept = std::chrono::microseconds(20);

}  // namespace

EventLoop::EventLoop() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) fail("epoll_create1");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    ::close(epoll_fd_);
    fail("eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;  // level triggered: read until drained below
  ev.data.ptr = nullptr;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    ::close(wake_fd_);
    ::close(epoll_fd_);
    fail("epoll_ctl");
  }
}

EventLoop::~EventLoop() {
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    posted_.push_back(std::move(fn));
  }
  const std::uint64_t one = 1;
  // A full counter (never, in practice) still leaves the loop woken.
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void EventLoop::stop() {
  stopped_.store(true);
  post([] {});
}

bool EventLoop::add(int fd, Handler& h) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &h;
  return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void EventLoop::drain_posts() {
  std::uint64_t count;
  [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &count, sizeof count);
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(mu_);
    work.swap(posted_);
  }
  for (auto& fn : work) fn();
}

void EventLoop::run(const std::function<void()>& on_tick) {
  using clock = std::chrono::steady_clock;
  constexpr auto kTick = std::chrono::seconds(1);
  auto next_tick = clock::now() + kTick;
  std::vector<epoll_event> events(256);
  for (;;) {
    if (stopped_.load(std::memory_order_relaxed)) return;
    const auto now = clock::now();
    if (now >= next_tick) {
      on_tick();
      next_tick = now + kTick;
    }
    const auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now).count() + 1;
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                               static_cast<int>(wait));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("epoll_wait");
    }
    // A worker busy for kBusyBudget without sleeping, serving many short
    // turns (one request per ready connection: the clients set the pace),
    // gives up its core once (sched_yield), so that the threads it waits
    // for (a client's on the same cores) get a turn. Without it such a
    // worker ran until preempted, about 1 ms at a time, and on cores shared
    // with the clients their p99 was 1.2-1.3x memcached's at saturation.
    // A worker going through batches (pipelines, multi-gets: fewer, longer
    // turns) has its work queued already and keeps its core: yielding there
    // only added switches, 0.67-0.92x throughput on a, c, d, f on shared
    // cores (benchmarks/tail, benchmarks/RESULTS.md). Alone on its core, the
    // call returns at once.
    const auto after = clock::now();
    if (n <= 0 || after - now > kSlept) {
      busy_since_ = after;
      turns_ = 0;
    } else if (after - busy_since_ > kBusyBudget) {
      if (turns_ >= kShortTurns) ::sched_yield();
      busy_since_ = clock::now();
      turns_ = 0;
    }
    turns_ += n;
    bool woken = false;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        woken = true;
        continue;
      }
      static_cast<Handler*>(events[i].data.ptr)->on_ready(events[i].events);
    }
    if (woken) drain_posts();
  }
}

}  // namespace memcoro::server
