#include "memcoro/server/server.hpp"

#include <algorithm>
#include <condition_variable>

#include "server_impl.hpp"

namespace memcoro::server {
namespace {

constexpr std::string_view kTooManyConnections = "ERROR Too many open connections\r\n";

}  // namespace

awaitable<void> Server::Impl::accept_loop() {
  for (;;) {
    Worker& w = *workers[next_worker];
    next_worker = (next_worker + 1) % workers.size();
    auto [ec, sock] = co_await acceptor.async_accept(use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping) co_return;
      // Out of descriptors and similar: back off briefly instead of spinning.
      if (live.verbosity() > 0) std::fprintf(stderr, "accept: %s\n", ec.message().c_str());
      asio::steady_timer t(main_ctx, std::chrono::milliseconds(10));
      co_await t.async_wait(use_nothrow);
      continue;
    }
    if (stopping) co_return;  // accepted just before the stop: not served
    if (curr_connections.load() >= live.conn_limit()) {
      // memcached's answer to one connection too many, then close.
      boost::system::error_code ignored;
      sock.non_blocking(true, ignored);
      sock.write_some(asio::buffer(kTooManyConnections), ignored);
      sock.close(ignored);
      rejected_connections.fetch_add(1);
      continue;
    }
    const std::uint64_t n = curr_connections.fetch_add(1) + 1;
    std::uint64_t seen = max_seen_connections.load();
    while (n > seen && !max_seen_connections.compare_exchange_weak(seen, n)) {
    }
    total_connections.fetch_add(1);
    last_accept.store(std::time(nullptr), std::memory_order_relaxed);
    // The worker's own event loop serves it from here. No O_NONBLOCK: every
    // receive and send there says MSG_DONTWAIT.
    boost::system::error_code ignored;
    sock.set_option(tcp::no_delay(true), ignored);
    std::string addr = describe(sock.remote_endpoint(ignored));
    std::string local = describe(sock.local_endpoint(ignored));
    const int fd = sock.release(ignored);
    if (ignored) {
      curr_connections.fetch_sub(1);
      continue;
    }
    w.loop.post([this, &w, fd, addr = std::move(addr), local = std::move(local)]() mutable {
      open_session(w, fd, std::move(addr), std::move(local));
    });
  }
}

Server::BindResult Server::Impl::bind() {
  boost::system::error_code ec;
  const asio::ip::address addr = asio::ip::make_address(at_start.listen, ec);
  if (ec) return {0, "'" + at_start.listen + "' is not an IP address"};
  const tcp::endpoint ep(addr, at_start.port);
  const char* step = "open";
  acceptor.open(ep.protocol(), ec);
  if (!ec) {
    step = "set SO_REUSEADDR";
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    step = "bind";
    acceptor.bind(ep, ec);
  }
  if (!ec) {
    step = "listen";
    acceptor.listen(static_cast<int>(at_start.backlog), ec);
  }
  if (ec) return {0, std::string(step) + ": " + ec.message()};
  listen_fd = acceptor.native_handle();
  listen_text = describe(acceptor.local_endpoint());
  return {acceptor.local_endpoint().port(), {}};
}

void Server::Impl::begin_stop() {
  if (stopping.exchange(true)) return;
  boost::system::error_code ignored;
  acceptor.close(ignored);
  signals.cancel(ignored);
  // Drain (connection.cpp); run() bounds it by drain_timeout.
  for (auto& w : workers) w->loop.post([this, wp = w.get()] { drain(*wp); });
}

void Server::Impl::maintenance(std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  while (!stop.stop_requested()) {
    store.maintenance_tick();
    cv.wait_for(lock, stop, std::chrono::milliseconds(100), [] { return false; });
  }
}

void Server::Impl::set_verbosity(unsigned level) {
  (void)live.change([&](config::Settings& s) {
    s.verbosity = std::min(level, 2u);
    return true;
  });
}

bool Server::Impl::set_memory_limit(std::size_t bytes) {
  if (live.change([&](config::Settings& s) {
        s.memory_limit = bytes;
        return true;
      })) {
    return false;
  }
  if (live.verbosity() > 0) std::fprintf(stderr, "maxbytes adjusted to %zum\n", bytes >> 20);
  return true;
}

void Server::Impl::set_automove(unsigned level) {
  (void)live.change([&](config::Settings& s) {
    s.slab_automove = level;
    return true;
  });
}

void Server::Impl::set_lru_crawler(bool on) {
  (void)live.change([&](config::Settings& s) {
    s.lru_crawler = on;
    return true;
  });
}

void Server::Impl::set_lru_segments(unsigned hot_pct, unsigned warm_pct) {
  (void)live.change([&](config::Settings& s) {
    s.hot_lru_pct = hot_pct;
    s.warm_lru_pct = warm_pct;
    return true;
  });
}

void Server::Impl::wait_for_signal() {
  signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      if (hup) hup();
      wait_for_signal();
      return;
    }
    begin_stop();
  });
}

void Server::Impl::run() {
  std::jthread maintainer([this](std::stop_token st) { maintenance(st); });
  wait_for_signal();
  asio::co_spawn(main_ctx, accept_loop(), asio::detached);
  for (auto& w : workers) {
    w->thread = std::thread([this, wp = w.get()] {
      // Returns once stopping and the worker has no connection left.
      wp->loop.run([this, wp] { close_idle(*wp); });
      std::lock_guard lock(finished_mu);
      ++workers_finished;
      finished_cv.notify_all();
    });
  }
  main_ctx.run();
  // Connections answer what they already received (begin_stop); after
  // drain_timeout the rest are closed regardless.
  auto wait_until = [this](std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(finished_mu);
    finished_cv.wait_until(lock, deadline, [this] { return workers_finished == workers.size(); });
  };
  wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(live.drain_timeout()));
  // Past the drain timeout, close what is left.
  for (auto& w : workers) w->loop.post([this, wp = w.get()] { close_all(*wp); });
  wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  for (auto& w : workers) {
    w->loop.stop();
    if (w->thread.joinable()) w->thread.join();
  }
}

exec::ServerControl& Server::control() {
  return *impl_;
}

void Server::on_sighup(std::function<void()> fn) {
  impl_->hup = std::move(fn);
}

bool Server::accepting() const {
  return impl_->listen_fd >= 0 && !impl_->stopping;
}

Server::Server(config::Live& live, store::Store& store, const exec::Auth* auth)
    : impl_(std::make_unique<Impl>(live, store, auth)) {}
Server::~Server() = default;
Server::BindResult Server::bind() {
  return impl_->bind();
}
void Server::run() {
  impl_->run();
}
void Server::stop() {
  asio::post(impl_->main_ctx, [impl = impl_.get()] { impl->begin_stop(); });
}

}  // namespace memcoro::server
