#pragma once
// The network side: an acceptor, one io_context per worker thread, and one
// coroutine per connection that reads requests, runs them, and answers each
// batch with one gathered write.
#include <memory>
#include <string>

#include "memcoro/config/settings.hpp"
#include "memcoro/store/store.hpp"

namespace memcoro::server {

class Server {
 public:
  Server(const config::Settings& settings, store::Store& store);
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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace memcoro::server
