// One coroutine per client connection: the transport side of an
// exec::Connection (read, hand over, write); the idle timeout; the per-connection reply limit;
// draining on a graceful stop.
#include "server_impl.hpp"

namespace memcoro::server {

Task<void> Server::Impl::session(Socket sock, Worker& w) {
  boost::system::error_code ignored;
  ConnInfo info;
  info.fd = sock.native_handle();
  info.addr = describe(sock.remote_endpoint(ignored));
  info.listen_addr = describe(sock.local_endpoint(ignored));
  info.last_cmd.store(std::time(nullptr), std::memory_order_relaxed);
  std::list<ConnInfo*>::iterator listed;
  {
    std::lock_guard lock(conns_mu);
    listed = conns.insert(conns.end(), &info);
  }
  Conn conn{sock, info, std::chrono::steady_clock::now()};
  auto registered = w.conns.insert(w.conns.end(), &conn);
  // Unlisted before the descriptor is closed: once closed, the kernel may
  // hand the same number to a new connection, and `stats conns` must never
  // list one descriptor twice.
  struct Exit {
    Impl& self;
    Worker& w;
    Socket& sock;
    std::list<Conn*>::iterator pos;
    std::list<ConnInfo*>::iterator listed;
    ~Exit() {
      w.conns.erase(pos);
      {
        std::lock_guard lock(self.conns_mu);
        self.conns.erase(listed);
      }
      boost::system::error_code ignored;
      sock.close(ignored);
      self.curr_connections.fetch_sub(1);
    }
  } on_exit{*this, w, sock, registered, listed};

  // No O_NONBLOCK of our own: the tries that must not block say
  // MSG_DONTWAIT (try_send, try_receive); Asio's epoll reactor sets it when
  // it needs it, and its io_uring backend (MEMCORO_IO_URING) receives
  // through the ring only from a blocking socket.
  sock.set_option(tcp::no_delay(true), ignored);
  try {
    co_await serve(conn, w);
  } catch (const std::exception& e) {
    if (live.verbosity() > 0) std::fprintf(stderr, "connection error: %s\n", e.what());
  }
  info.set(ConnState::closing);
}

namespace {

// A send's or receive's result as Asio reports it: bytes, or the error
// (would_block when the call would have had to wait).
std::size_t transferred(ssize_t result, boost::system::error_code& ec) {
  if (result >= 0) {
    ec = {};
    return static_cast<std::size_t>(result);
  }
  ec = errno == EAGAIN || errno == EWOULDBLOCK
           ? boost::system::error_code(asio::error::would_block)
           : boost::system::error_code(errno, boost::system::system_category());
  return 0;
}

}  // namespace

std::size_t Server::Impl::try_send(Socket& sock, std::span<const asio::const_buffer> bufs,
                                   boost::system::error_code& ec) {
  // As Asio's write_some: at most 64 buffers a call.
  std::array<iovec, 64> iov;
  const std::size_t n = std::min(bufs.size(), iov.size());
  for (std::size_t i = 0; i < n; ++i) {
    iov[i].iov_base = const_cast<void*>(bufs[i].data());
    iov[i].iov_len = bufs[i].size();
  }
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = n;
  return transferred(::sendmsg(sock.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL), ec);
}

std::size_t Server::Impl::try_receive(Socket& sock, asio::mutable_buffer room,
                                      boost::system::error_code& ec) {
  return transferred(::recv(sock.native_handle(), room.data(), room.size(), MSG_DONTWAIT), ec);
}

Task<bool> Server::Impl::read_all(Socket& sock, char* dst, std::size_t n) {
  while (n > 0) {
    auto [ec, got] = co_await sock.async_read_some(asio::buffer(dst, n), worker_nothrow);
    if (ec || got == 0) co_return false;
    dst += got;
    n -= got;
  }
  co_return true;
}

Task<bool> Server::Impl::write_all(Socket& sock, std::vector<asio::const_buffer>& iov,
                                   ConnInfo& info) {
  std::size_t first = 0;
  bool try_now = true;
  while (first < iov.size()) {
    const std::span<const asio::const_buffer> rest(iov.data() + first, iov.size() - first);
    boost::system::error_code ec;
    std::size_t sent = 0;
    if (try_now) {
      // Replies usually fit the socket buffer: send them at once rather
      // than through a completion handler (each handler round costs the
      // scheduler another epoll_wait).
      sent = try_send(sock, rest, ec);
      try_now = false;
      if (ec == asio::error::would_block) {
        ec = {};
        sent = 0;
      }
    } else {
      info.set(ConnState::mwrite);  // the client is slow to read
      std::tie(ec, sent) = co_await sock.async_write_some(rest, worker_nothrow);
    }
    if (ec) co_return false;
    while (first < iov.size() && sent >= iov[first].size()) {
      sent -= iov[first].size();
      ++first;
    }
    if (first < iov.size()) iov[first] += sent;
  }
  co_return true;
}

Task<bool> Server::Impl::send(Socket& sock, exec::Output& out, std::vector<asio::const_buffer>& iov,
                              Worker& w, ConnInfo& info) {
  iov.clear();
  out.for_each_span([&](std::string_view s) { iov.emplace_back(s.data(), s.size()); });
  const bool ok = co_await write_all(sock, iov, info);
  w.counters.bytes_written.add(out.size());
  out.clear();
  co_return ok;
}

Task<void> Server::Impl::serve(Conn& conn, Worker& w) {
  Socket& sock = conn.sock;
  ConnInfo& info = conn.info;
  exec::Context ctx{store, w.counters, this, &prefix_stats};
  exec::StoreRunner runner(ctx);
  exec::Connection handler(runner, limits);
  std::vector<asio::const_buffer> iov;
  for (;;) {
    const exec::Connection::Step step = handler.next();
    if (handler.take_line_seen()) {
      // A complete command line: the idle timeout starts again.
      conn.last_cmd = std::chrono::steady_clock::now();
      info.last_cmd.store(std::time(nullptr), std::memory_order_relaxed);
    }
    switch (step.kind) {
      case exec::Connection::Step::close: co_return;
      case exec::Connection::Step::write:
        if (!co_await send(sock, handler.output(), iov, w, info)) co_return;
        info.set(ConnState::parse_cmd);
        break;
      case exec::Connection::Step::read_exact:
        info.set(ConnState::nread);
        if (!co_await read_all(sock, step.space.data(), step.space.size())) co_return;
        w.counters.bytes_read.add(step.space.size());
        info.set(ConnState::parse_cmd);
        handler.received(step.space.size());
        break;
      case exec::Connection::Step::read: {
        std::size_t n = 0;
        boost::system::error_code ec;
        info.set(ConnState::read);
        const asio::mutable_buffer room(step.space.data(), step.space.size());
        if (stopping.load(std::memory_order_relaxed)) {
          // A graceful stop: answer what has arrived; once nothing more is
          // waiting in the socket, the connection is done.
          n = try_receive(sock, room, ec);
          if (ec == asio::error::would_block) co_return;
        } else {
          std::tie(ec, n) = co_await sock.async_read_some(room, worker_nothrow);
          // begin_stop() woke this read: drain what the client already sent.
          if (ec == asio::error::operation_aborted && stopping.load() && !conn.kicked) continue;
        }
        if (ec || n == 0) co_return;
        w.counters.bytes_read.add(n);
        info.set(ConnState::parse_cmd);
        ctx.reply_limit = live.conn_reply_limit();
        handler.received(n);
        break;
      }
    }
  }
}

Task<void> Server::Impl::watch_idle(Worker& w) {
  for (;;) {
    w.idle_check.expires_after(std::chrono::seconds(1));
    co_await w.idle_check.async_wait(worker_nothrow);
    if (stopping.load()) co_return;
    const std::uint32_t idle = live.idle_timeout();
    if (idle == 0) continue;
    const auto cutoff = std::chrono::steady_clock::now() - std::chrono::seconds(idle);
    for (Conn* c : w.conns) {
      if (c->kicked || c->last_cmd >= cutoff) continue;
      c->kicked = true;
      w.counters.idle_kicks.add();
      if (live.verbosity() > 1) std::fprintf(stderr, "closing idle connection %d\n", c->info.fd);
      boost::system::error_code ignored;
      c->sock.shutdown(tcp::socket::shutdown_both, ignored);
      c->sock.cancel(ignored);
    }
  }
}

}  // namespace memcoro::server
