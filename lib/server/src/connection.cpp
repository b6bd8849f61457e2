// One coroutine per client connection: read, parse, run, answer; the
// idle timeout; the per-connection reply limit; draining on a graceful stop.
#include <cstring>

#include "server_impl.hpp"

namespace memcoro::server {
namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
// Data blocks at least this large that have not all arrived are read straight
// into their item.
constexpr std::size_t kInPlaceMin = 16 * 1024;

// A connection's read buffer: grows without zero-filling (a 1 MiB value
// should not cost a 1 MiB memset), and stays large while large requests
// keep coming.
class ReadBuffer {
 public:
  explicit ReadBuffer(std::size_t n) : data_(std::make_unique_for_overwrite<char[]>(n)), size_(n) {}
  char* data() { return data_.get(); }
  std::size_t size() const { return size_; }
  // Reallocates to n bytes, keeping the first `used`.
  void resize(std::size_t n, std::size_t used) {
    auto next = std::make_unique_for_overwrite<char[]>(n);
    std::memcpy(next.get(), data_.get(), std::min(used, n));
    data_ = std::move(next);
    size_ = n;
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_;
};

}  // namespace

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

  sock.set_option(tcp::no_delay(true), ignored);
  sock.non_blocking(true, ignored);  // write_all's first try must not block
  try {
    co_await serve(conn, w);
  } catch (const std::exception& e) {
    if (verbosity > 0) std::fprintf(stderr, "connection error: %s\n", e.what());
  }
  info.set(ConnState::closing);
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
      sent = sock.write_some(rest, ec);
      try_now = false;
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
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
  ReadBuffer buf(kReadChunk);
  unsigned small_batches = 0;  // in a row, while the buffer is large
  std::size_t start = 0;       // unparsed bytes are buf[start, end)
  std::size_t end = 0;
  std::size_t swallow = 0;  // bytes of a refused data block still to discard
  bool first_read = true;
  // The line of a storage command was seen; its data block is arriving.
  // (The line is parsed again with each read, but it counts once.)
  bool block_pending = false;
  protocol::Command cmd;
  exec::Output out;
  exec::Context ctx{store, w.counters, this, &prefix_stats};
  std::vector<asio::const_buffer> iov;
  bool got_line = false;  // in this batch: one clock read serves all its lines
  // A complete command line was parsed (`block`: its data block is still
  // arriving). The idle timeout starts again, once per line.
  auto line_seen = [&](bool block) {
    if (!got_line && !block_pending) {
      conn.last_cmd = std::chrono::steady_clock::now();
      info.last_cmd.store(std::time(nullptr), std::memory_order_relaxed);
    }
    got_line = true;
    block_pending = block;
  };

  for (;;) {
    // Room to read: move unparsed bytes to the front, grow only when a
    // single request needs more than the buffer holds.
    if (start == end) {
      start = end = 0;
    } else if (end == buf.size() && start > 0) {
      std::memmove(buf.data(), buf.data() + start, end - start);
      end -= start;
      start = 0;
    }
    if (end == buf.size()) buf.resize(buf.size() * 2, end);

    std::size_t n = 0;
    boost::system::error_code ec;
    info.set(ConnState::read);
    const asio::mutable_buffer room(buf.data() + end, buf.size() - end);
    if (stopping.load(std::memory_order_relaxed)) {
      // A graceful stop: answer what has arrived; once nothing more is
      // waiting in the socket, the connection is done.
      n = sock.read_some(room, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) co_return;
    } else {
      std::tie(ec, n) = co_await sock.async_read_some(room, worker_nothrow);
      // begin_stop() woke this read: drain what the client already sent.
      if (ec == asio::error::operation_aborted && stopping.load() && !conn.kicked) continue;
    }
    if (ec || n == 0) co_return;
    if (first_read) {
      first_read = false;
      // memcached picks the binary protocol by this first byte. Until it
      // is served here, refuse it at once rather than wait for a text
      // line that never comes.
      if (buf.data()[0] == '\x80') {
        w.counters.rejected_binary_connections.add();
        co_return;
      }
    }
    w.counters.bytes_read.add(n);
    end += n;
    info.set(ConnState::parse_cmd);
    ctx.reply_limit = reply_limit.load(std::memory_order_relaxed);

    bool close = false;
    got_line = false;
    for (;;) {
      if (swallow > 0) {
        const std::size_t k = std::min(swallow, end - start);
        start += k;
        swallow -= k;
        if (swallow > 0) break;
      }
      if (start == end) break;
      const std::string_view pending(buf.data() + start, end - start);
      protocol::ParseResult r = protocol::parse_text(pending, cmd, limits);
      if (r.status == protocol::ParseStatus::need_more) {
        if (!r.block) break;
        line_seen(true);
        const std::size_t block = cmd.data_len + std::size_t{2};
        if (block >= kInPlaceMin && exec::can_store_in_place(cmd)) {
          // A large value: receive the rest of it straight into its item
          // instead of into the read buffer and then copying it.
          const std::size_t body = start + r.consumed;
          block_pending = false;
          store::ItemRef pending = exec::begin_store_in_place(cmd, ctx, out);
          if (!pending) {  // answered already; skip the block as it comes
            start = body;
            swallow = block;
            continue;
          }
          char* dst = pending.value_line_data();
          const std::size_t have = std::min(end - body, block);
          std::memcpy(dst, buf.data() + body, have);
          info.set(ConnState::nread);
          if (!co_await read_all(sock, dst + have, block - have)) co_return;
          info.set(ConnState::parse_cmd);
          w.counters.bytes_read.add(block - have);
          start = body + have;
          if (dst[block - 2] != '\r' || dst[block - 1] != '\n') {
            pending.reset();
            if (!cmd.noreply) exec::write_error("CLIENT_ERROR bad data chunk", out);
          } else {
            exec::finish_store_in_place(cmd, std::move(pending), ctx, out);
          }
          continue;
        }
        if (r.need > buf.size()) {
          // A data block larger than the buffer: make room for all of it
          // (bounded by the item size limit, checked by the parser).
          std::memmove(buf.data(), buf.data() + start, end - start);
          end -= start;
          start = 0;
          buf.resize(r.need, end);
        }
        break;
      }
      line_seen(false);
      if (r.status == protocol::ParseStatus::close) {
        close = true;
        break;
      }
      if (r.status == protocol::ParseStatus::error) {
        if (!r.silent) exec::write_error(r.error, out);
        start += r.consumed;
        swallow = r.swallow;  // a refused meta set's data block
        continue;
      }
      exec::After after = exec::execute(cmd, ctx, out);
      while (after == exec::After::more) {
        // A multi-get over the reply limit: the client reads this part
        // before the next is looked up (cmd still points into buf).
        if (!co_await send(sock, out, iov, w, info)) co_return;
        after = exec::execute(cmd, ctx, out);
      }
      start += r.consumed;
      swallow = r.swallow;
      if (after == exec::After::close) {
        close = true;
        break;
      }
      // Pipelined requests: no more replies pile up than the limit.
      if (out.size() >= ctx.reply_limit && !co_await send(sock, out, iov, w, info)) co_return;
    }

    if (!out.empty() && !co_await send(sock, out, iov, w, info)) co_return;
    if (close) co_return;
    // Keep memory bounded after a large request.
    if (start == end && buf.size() > kReadChunk) {
      // Give the memory back only after a run of small requests.
      small_batches = n < kReadChunk ? small_batches + 1 : 0;
      if (small_batches >= 64) {
        buf.resize(kReadChunk, 0);
        start = end = 0;
        small_batches = 0;
      }
    }
  }
}

Task<void> Server::Impl::watch_idle(Worker& w) {
  for (;;) {
    w.idle_check.expires_after(std::chrono::seconds(1));
    co_await w.idle_check.async_wait(worker_nothrow);
    if (stopping.load()) co_return;
    const std::uint32_t idle = idle_timeout.load(std::memory_order_relaxed);
    if (idle == 0) continue;
    const auto cutoff = std::chrono::steady_clock::now() - std::chrono::seconds(idle);
    for (Conn* c : w.conns) {
      if (c->kicked || c->last_cmd >= cutoff) continue;
      c->kicked = true;
      w.counters.idle_kicks.add();
      if (verbosity > 1) std::fprintf(stderr, "closing idle connection %d\n", c->info.fd);
      boost::system::error_code ignored;
      c->sock.shutdown(tcp::socket::shutdown_both, ignored);
      c->sock.cancel(ignored);
    }
  }
}

}  // namespace memcoro::server
