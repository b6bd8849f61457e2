// The admin port's console sessions: a cache connection without a socket
// of the cache port's. Requests run on the admin thread against the same
// store, counters and watch streams as every connection; the session is
// listed in `stats conns` while it lives.
#include <ctime>

#include "memcoro/exec/feed.hpp"
#include "server_impl.hpp"

namespace memcoro::server {

class Server::Impl::ConsoleSession final : public Server::Console {
 public:
  ConsoleSession(Impl& server, std::string addr, std::string listen_addr, int fd)
      : server_(server),
        ctx_{.store = server.store,
             .counters = server.console_counters,
             .control = &server,
             .prefixes = &server.prefix_stats,
             .latency_sample = server.live.latency_sample(),
             // Authenticated by the admin port (its token), not by -S/-Y.
             .auth = nullptr,
             .logger = &server.logger,
             .fd = fd} {
    // A multi-get's reply is gathered in parts of this size.
    ctx_.reply_limit = 64 * 1024;
    in_registry_ = server_.list_conn(info_, fd, std::move(addr), std::move(listen_addr));
    server_.count_open();
    server_.log_conn_new(info_);
    start_over();
  }
  ~ConsoleSession() override {
    server_.log_conn_close(info_, log::CloseReason::normal);
    server_.unlist_conn(in_registry_);
    server_.curr_connections.fetch_sub(1);
  }
  ConsoleSession(const ConsoleSession&) = delete;
  ConsoleSession& operator=(const ConsoleSession&) = delete;

  Result run(std::string_view in, std::size_t limit) override {
    Result r;
    if (closed_) {
      r.closed = true;
      return r;
    }
    info_.set(ConnState::parse_cmd);
    info_.last_cmd.store(std::time(nullptr), std::memory_order_relaxed);
    server_.console_counters.bytes_read.add(in.size());
    const exec::Fed fed = exec::feed(*conn_, in, [&](const exec::Output& out) {
      out.for_each_span([&](std::string_view s) {
        const std::size_t room = limit - r.reply.size();
        if (s.size() > room) r.truncated = true;
        r.reply.append(s.substr(0, room));
      });
      return !r.truncated;
    });
    server_.console_counters.bytes_written.add(r.reply.size());
    info_.set(ConnState::read);
    switch (fed) {
      case exec::Fed::taken: r.waiting = conn_->mid_request(); break;
      case exec::Fed::cut: r.waiting = true; break;
      case exec::Fed::closed:
      case exec::Fed::watching:  // (refused: a console has no wake)
        closed_ = r.closed = true;
        break;
      case exec::Fed::stopped: start_over(); break;  // what was left of the reply is dropped
    }
    return r;
  }

 private:
  void start_over() {
    conn_.reset();
    runner_.emplace(ctx_);
    conn_.emplace(*runner_, server_.limits);
  }

  Impl& server_;
  ConnInfo info_;
  std::list<ConnInfo*>::iterator in_registry_;
  exec::Context ctx_;
  std::optional<exec::StoreRunner> runner_;
  std::optional<exec::Connection> conn_;
  bool closed_ = false;
};

std::unique_ptr<Server::Console> Server::open_console(std::string addr, std::string listen_addr,
                                                      int fd) {
  return std::make_unique<Impl::ConsoleSession>(*impl_, std::move(addr), std::move(listen_addr),
                                                fd);
}

}  // namespace memcoro::server
