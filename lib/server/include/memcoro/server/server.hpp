#pragma once
// The network side: an acceptor, one io_context per worker thread, and one
// coroutine per connection that reads requests, runs them, and answers each
// batch with one gathered write.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "memcoro/config/live.hpp"
#include "memcoro/exec/execute.hpp"
#include "memcoro/server/tls_context.hpp"
#include "memcoro/store/store.hpp"

namespace memcoro::server {

class Server {
 public:
  // Serves with `live`'s settings: those that only a restart changes as
  // they are now, the rest as they change. `auth` (may be null: none) is
  // every connection's -S/-Y/-B; it must outlive the server.
  Server(config::Live& live, store::Store& store, const exec::Auth* auth = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  struct BindResult {
    unsigned short port = 0;  // the bound port (useful when the setting is 0)
    std::string error;        // empty on success
  };
  // Opens and binds the listening socket.
  BindResult bind();
  // Serves until SIGINT/SIGTERM or stop(); then closes connections and returns.
  void run();
  // Thread-safe.
  void stop();

  // For the admin port (any thread):
  // the `stats` views, as the text protocol answers them;
  exec::ServerControl& control();
  // -Z: what TLS connections are made from (main loads it before bind()
  // and again when the ssl_* settings change).
  TlsContext& tls();
  // true while the cache port accepts connections.
  bool accepting() const;
  // Called (on the server's main thread) on SIGHUP; set before run().
  void on_sighup(std::function<void()> fn);

  // The admin port's console: a text-protocol connection without a socket
  // of the cache port's, listed in `stats conns` (and counted in
  // curr_connections) while it is open. Open and run consoles on one
  // thread only (the admin port's): they share that thread's counters.
  class Console {
   public:
    virtual ~Console() = default;
    struct Result {
      std::string reply;
      bool waiting = false;    // the request is not whole (a data block is missing)
      bool closed = false;     // `quit`, or an error memcached closes on
      bool truncated = false;  // the reply was cut at `limit`; the session starts over
    };
    // Runs what `in` holds, as if received; at most `limit` reply bytes.
    virtual Result run(std::string_view in, std::size_t limit) = 0;
  };
  // addr: the admin client's address, listen_addr: where it connected, as
  // `stats conns` shows them; fd: the admin connection's descriptor.
  std::unique_ptr<Console> open_console(std::string addr, std::string listen_addr, int fd);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace memcoro::server
