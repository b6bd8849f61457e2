#include "memcoro/server/server.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>

#include "server_impl.hpp"

namespace memcoro::server {
namespace {

constexpr std::string_view kTooManyConnections = "ERROR Too many open connections\r\n";

}  // namespace

// "unix:pid=N,uid=N": who is on the other end of a unix socket (memcached
// shows "?:<AF 0>", the unnamed peer address; its credentials say more).
std::string describe_unix_peer(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return "unix:";
  return "unix:pid=" + std::to_string(cred.pid) + ",uid=" + std::to_string(cred.uid);
}

template <class Socket>
void Server::Impl::hand_over(Socket sock, const std::string& local, bool tls) {
  Worker& w = *workers[next_worker];
  next_worker = (next_worker + 1) % workers.size();
  boost::system::error_code ignored;
  if (curr_connections.load() >= live.conn_limit()) {
    // memcached's answer to one connection too many, then close.
    sock.non_blocking(true, ignored);
    sock.write_some(asio::buffer(kTooManyConnections), ignored);
    sock.close(ignored);
    rejected_connections.fetch_add(1);
    return;
  }
  count_open();
  last_accept.store(std::time(nullptr), std::memory_order_relaxed);
  std::string addr;
  std::string here = local;
  if constexpr (std::is_same_v<Socket, tcp::socket>) {
    sock.set_option(tcp::no_delay(true), ignored);
    addr = describe(sock.remote_endpoint(ignored));
    here = describe(sock.local_endpoint(ignored));  // the address a wildcard took
  } else {
    addr = describe_unix_peer(sock.native_handle());
  }
  // The worker's own event loop serves it from here. No O_NONBLOCK: every
  // receive and send there says MSG_DONTWAIT.
  const int fd = sock.release(ignored);
  if (ignored) {
    curr_connections.fetch_sub(1);
    return;
  }
  w.loop.post([this, &w, fd, tls, addr = std::move(addr), here = std::move(here)]() mutable {
    open_session(w, fd, std::move(addr), std::move(here), tls);
  });
}

template <class Acceptor>
awaitable<void> Server::Impl::accept_loop(Acceptor& acceptor, std::string local, bool tls) {
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping) co_return;
      // Out of descriptors and similar: back off briefly instead of spinning.
      if (live.verbosity() > 0) std::fprintf(stderr, "accept: %s\n", ec.message().c_str());
      asio::steady_timer t(main_ctx, std::chrono::milliseconds(10));
      co_await t.async_wait(use_nothrow);
      continue;
    }
    // Accepted just before the stop (its completion was queued when the
    // stop began): handed over too, ahead of the drain (begin_stop).
    hand_over(std::move(sock), local, tls);
    if (stopping) co_return;
  }
}

template <class Acceptor>
void Server::Impl::accept_backlog(Acceptor& acceptor, const std::string& local, bool tls) {
  if (!acceptor.is_open()) return;
  boost::system::error_code ec;
  acceptor.non_blocking(true, ec);
  while (!ec) {
    typename Acceptor::protocol_type::socket sock(main_ctx);
    acceptor.accept(sock, ec);
    if (!ec) hand_over(std::move(sock), local, tls);
  }
}

Server::BindResult Server::Impl::bind() {
  if (!at_start.unix_socket.empty()) return bind_unix();
  std::vector<config::ListenAddress> addrs;
  if (std::string e = config::listen_addresses(at_start, addrs); !e.empty()) return {0, e};
  unsigned short first = 0;
  for (const config::ListenAddress& a : addrs) {
    const BindResult r = bind_tcp(a);
    if (!r.error.empty()) return r;
    if (first == 0) first = r.port;
    if (at_start.udp_port != 0) {
      config::ListenAddress u = a;
      if (!a.own_port) u.port = at_start.udp_port;
      if (BindResult e = bind_udp(u); !e.error.empty()) return e;
    }
  }
  return {first, {}};
}

// -U: a datagram socket on every address `where` resolves to, each served
// by the next worker.
Server::BindResult Server::Impl::bind_udp(const config::ListenAddress& where) {
  const std::string name = "udp " + where.host + ":" + std::to_string(where.port);
  boost::system::error_code ec;
  asio::ip::udp::resolver resolver(main_ctx);
  const auto found = resolver.resolve(
      where.host, std::to_string(where.port),
      asio::ip::udp::resolver::passive | asio::ip::udp::resolver::numeric_service, ec);
  if (ec) return {0, name + ": " + ec.message()};
  for (const auto& entry : found) {
    const asio::ip::udp::endpoint ep = entry.endpoint();
    const int fd = ::socket(ep.protocol().family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return {0, name + ": socket: " + std::strerror(errno)};
    auto sock = std::make_unique<UdpSocket>(*this, *workers[udp_sockets.size() % workers.size()],
                                            fd);  // closes fd on every way out
    const int one = 1;
    if (ep.address().is_v6() && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
      return {0, name + ": set IPV6_V6ONLY: " + std::strerror(errno)};
    if (::bind(fd, ep.data(), static_cast<socklen_t>(ep.size())) != 0)
      return {0, name + ": bind: " + std::strerror(errno)};
    asio::ip::udp::endpoint bound;
    socklen_t len = static_cast<socklen_t>(bound.capacity());
    ::getsockname(fd, bound.data(), &len);
    bound.resize(len);
    const asio::ip::address a = bound.address();
    listeners.push_back({fd,
                         a.is_v6() ? "udp6:[" + a.to_string() + "]:" + std::to_string(bound.port())
                                   : "udp:" + a.to_string() + ":" + std::to_string(bound.port()),
                         true});
    udp_sockets.push_back(std::move(sock));
  }
  return {0, {}};
}

// Every address `where` resolves to (a name may give IPv4 and IPv6 ones).
Server::BindResult Server::Impl::bind_tcp(const config::ListenAddress& where) {
  const bool bracket = where.host.find(':') != std::string::npos;
  const std::string name =
      (bracket ? "[" + where.host + "]" : where.host) + ":" + std::to_string(where.port);
  boost::system::error_code ec;
  tcp::resolver resolver(main_ctx);
  const auto found = resolver.resolve(where.host, std::to_string(where.port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) return {0, name + ": " + ec.message()};
  unsigned short port = 0;
  for (const auto& entry : found) {
    const tcp::endpoint ep = entry.endpoint();
    auto acceptor = std::make_unique<tcp::acceptor>(main_ctx);
    const char* step = "open";
    acceptor->open(ep.protocol(), ec);
    if (!ec) {
      step = "set SO_REUSEADDR";
      acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec && ep.address().is_v6()) {
      // As memcached: [::] is IPv6 only, so that 0.0.0.0 can be listed too.
      step = "set IPV6_V6ONLY";
      acceptor->set_option(asio::ip::v6_only(true), ec);
    }
    if (!ec) {
      step = "bind";
      acceptor->bind(ep, ec);
    }
    if (!ec) {
      step = "listen";
      acceptor->listen(static_cast<int>(at_start.backlog), ec);
    }
    if (ec) return {0, name + ": " + step + ": " + ec.message()};
    const tcp::endpoint bound = acceptor->local_endpoint();
    if (port == 0) port = bound.port();
    listeners.push_back({acceptor->native_handle(), describe(bound)});
    tcp_acceptors.push_back(std::move(acceptor));
    tcp_tls.push_back(at_start.ssl_enabled && where.tls);
  }
  return {port, {}};
}

Server::BindResult Server::Impl::bind_unix() {
  const std::string& path = at_start.unix_socket;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return {0, path + ": exists and is not a socket"};
    // A socket file: stale (left by a server that did not exit cleanly) if
    // nobody accepts on it, so replaced; a live server's is left alone.
    unix_stream::socket probe(main_ctx);
    boost::system::error_code ec;
    probe.open(unix_stream(), ec);
    if (!ec) probe.non_blocking(true, ec);
    if (!ec) probe.connect(unix_stream::endpoint(path), ec);
    if (!ec || ec == asio::error::would_block || ec == asio::error::try_again) {
      return {0, path + ": a server is listening on it"};
    }
    if (ec != asio::error::connection_refused) return {0, path + ": " + ec.message()};
    ::unlink(path.c_str());
  }
  boost::system::error_code ec;
  const char* step = "open";
  unix_acceptor.open(unix_stream(), ec);
  if (!ec) {
    // The file gets unix_mask's mode from its creation on (memcached's way:
    // a chmod after bind would leave a moment with the default mode). No
    // other thread runs yet to see the process umask change.
    step = "bind";
    const mode_t old = ::umask(~static_cast<mode_t>(at_start.unix_mask) & 0777);
    unix_acceptor.bind(unix_stream::endpoint(path), ec);
    ::umask(old);
  }
  if (!ec) {
    unix_path = path;
    if (::stat(path.c_str(), &st) == 0) unix_inode = st.st_ino;
    step = "listen";
    unix_acceptor.listen(static_cast<int>(at_start.backlog), ec);
  }
  if (ec) return {0, path + ": " + step + ": " + ec.message()};
  listeners.push_back({unix_acceptor.native_handle(), "unix:" + path});
  return {0, {}};
}

// The socket file bind_unix() made, unless someone replaced it since.
void Server::Impl::remove_unix_socket() {
  struct stat st {};
  if (!unix_path.empty() && ::stat(unix_path.c_str(), &st) == 0 && st.st_ino == unix_inode) {
    ::unlink(unix_path.c_str());
  }
}

void Server::Impl::begin_stop() {
  if (stopping.exchange(true)) return;
  // Connections the kernel completed but not yet accepted (the listen
  // backlog) are the server's too: they are handed to the workers before the
  // drain is posted there, so that it answers what they sent (memcached
  // 1.6.18 closes them unanswered).
  for (std::size_t i = 0; i < tcp_acceptors.size(); ++i) {
    accept_backlog(*tcp_acceptors[i], std::string(), tcp_tls[i]);
  }
  accept_backlog(unix_acceptor, "unix:" + unix_path, false);
  boost::system::error_code ignored;
  for (auto& a : tcp_acceptors) a->close(ignored);
  unix_acceptor.close(ignored);
  signals.cancel(ignored);
  // Drain (connection.cpp); run() bounds it by drain_timeout. Posted from
  // the main context's queue, behind any accept that completed before the
  // stop and waits there to be handed over.
  asio::post(main_ctx, [this] {
    for (auto& w : workers) w->loop.post([this, wp = w.get()] { drain(*wp); });
  });
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

// Any worker thread. Both modes stop as SIGTERM does (memcoro's every stop
// is graceful: connections answer what they sent, within drain_timeout).
void Server::Impl::shutdown(bool graceful) {
  if (live.verbosity() > 0 || graceful) std::fprintf(stderr, "Gracefully stopping\n");
  asio::post(main_ctx, [this] { begin_stop(); });
}

std::string Server::Impl::refresh_certs() {
  if (!at_start.ssl_enabled) return "Error TLS not enabled";
  std::string error = tls.refresh();
  if (!error.empty() && live.verbosity() > 0) std::fprintf(stderr, "%s\n", error.c_str());
  return error;
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
  for (std::size_t i = 0; i < tcp_acceptors.size(); ++i) {
    asio::co_spawn(main_ctx, accept_loop(*tcp_acceptors[i], std::string(), tcp_tls[i]),
                   asio::detached);
  }
  for (auto& u : udp_sockets) {
    u->worker().loop.post([sock = u.get()] { sock->worker().loop.add(sock->fd(), *sock); });
  }
  if (unix_acceptor.is_open()) {
    // As memcached: the unix socket is never TLS (it does not leave the host).
    asio::co_spawn(main_ctx, accept_loop(unix_acceptor, "unix:" + unix_path, false),
                   asio::detached);
  }
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

TlsContext& Server::tls() {
  return impl_->tls;
}

exec::ServerControl& Server::control() {
  return *impl_;
}

void Server::on_sighup(std::function<void()> fn) {
  impl_->hup = std::move(fn);
}

bool Server::accepting() const {
  return !impl_->listeners.empty() && !impl_->stopping;
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
