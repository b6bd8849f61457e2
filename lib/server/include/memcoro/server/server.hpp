#pragma once
// The network side: an acceptor, one io_context per worker thread, and one
// coroutine per connection that reads requests, runs them, and answers each
// batch with one gathered write.
#include <memory>

#include "memcoro/config/settings.hpp"
#include "memcoro/store/store.hpp"

namespace memcoro::server {

class Server {
 public:
  Server(const config::Settings& settings, store::Store& store);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; throws std::system_error with a message on
  // failure. Returns the bound port (useful when the setting is 0).
  unsigned short bind();
  // Serves until SIGINT/SIGTERM or stop(); then closes connections and returns.
  void run();
  // Thread-safe.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace memcoro::server
