// One client connection on its worker's event loop: the transport side of
// an exec::Connection (receive, hand over, send) driven by readiness, in
// plain TCP or TLS; the idle timeout; the per-connection reply limit;
// draining on a graceful stop.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/uio.h>
#include <unistd.h>

#include <climits>

#include "server_impl.hpp"
#include "tls_channel.hpp"

namespace memcoro::server {

class Server::Impl::Session final : public EventLoop::Handler {
 public:
  // With `ssl` (owned from here on), the connection speaks TLS.
  Session(Impl& server, Worker& w, int fd, std::string addr, std::string listen_addr, SSL* ssl);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void on_ready(std::uint32_t events) override;
  // Runs the connection until it has to wait for the socket, or closes it
  // (and deletes this).
  void drive();
  // Closes the connection and deletes this.
  void close();
  // Closes the connection (close()) saying why, for connevents.
  void close(log::CloseReason why) {
    close_reason_ = why;
    close();
  }
  ConnState state() const { return info_.state.load(std::memory_order_relaxed); }
  // (A watcher sends no commands, and is never idle.)
  bool idle_since(std::chrono::steady_clock::time_point cutoff) const {
    return !watching_ && last_cmd_ < cutoff;
  }
  int fd() const { return info_.fd; }

 private:
  enum class Io : unsigned char { done, wait, failed };
  Io send_output();
  Io send_tls();
  Io receive_exact();
  Io receive_some();
  // The live settings a request reads (ctx_), taken again before each
  // batch so that a change reaches open connections.
  void take_live_settings();
  // One receive of at most `want` bytes into p (plain or TLS); `force`
  // tries even when the socket looked drained.
  Io receive(char* p, std::size_t want, std::size_t& got, bool force);
  Io wait_for_log();

  Impl& server_;
  Worker& w_;
  ConnInfo info_;
  std::list<Session*>::iterator in_worker_;
  std::list<ConnInfo*>::iterator in_registry_;
  exec::Context ctx_;
  exec::StoreRunner runner_;
  exec::Connection handler_;
  exec::Connection::Step step_{exec::Connection::Step::read, {}};
  bool have_step_ = false;
  std::size_t done_ = 0;  // read_exact: bytes of step_.space already received
  std::vector<iovec> iov_;
  std::size_t iov_first_ = 0;
  // TLS: the channel, and replies copied into records of up to 16 KB (one
  // SSL_write each, retried as they are until the socket takes them).
  std::unique_ptr<TlsChannel> tls_;
  std::string tls_staged_;
  // Edge-triggered readiness, kept here so that none is lost: set by an
  // event, cleared by a receive that came back short (the socket is then
  // empty) or a send that would block.
  bool readable_ = true;
  bool writable_ = true;
  // When the connection last sent a complete command line (memcached's
  // last_cmd_time): the idle timeout counts from here.
  std::chrono::steady_clock::time_point last_cmd_;
  // `watch`: the logger wakes this session through its loop; `alive_`
  // (touched on the loop's thread only) tells a late wake it is gone.
  std::shared_ptr<Session*> alive_ = std::make_shared<Session*>(this);
  bool watching_ = false;
  log::CloseReason close_reason_ = log::CloseReason::normal;
};

Server::Impl::Session::Session(Impl& server, Worker& w, int fd, std::string addr,
                               std::string listen_addr, SSL* ssl)
    : server_(server),
      w_(w),
      ctx_{.store = server.store,
           .counters = w.counters,
           .control = &server,
           .prefixes = &server.prefix_stats,
           .auth = server.auth},
      runner_(ctx_),
      handler_(runner_, server.limits),
      last_cmd_(std::chrono::steady_clock::now()) {
  in_registry_ = server_.list_conn(info_, fd, std::move(addr), std::move(listen_addr));
  in_worker_ = w_.sessions.insert(w_.sessions.end(), this);
  take_live_settings();
  if (ssl != nullptr) tls_ = std::make_unique<TlsChannel>(ssl, fd, readable_, writable_);
  ctx_.logger = &server_.logger;
  ctx_.fd = fd;
  ctx_.wake = [loop = &w_.loop, alive = alive_] {
    loop->post([alive] {
      if (*alive != nullptr) (*alive)->drive();
    });
  };
  server_.log_conn_new(info_);
}

Server::Impl::Session::~Session() {
  *alive_ = nullptr;
  // memcached gives a watcher's end as an error, whatever ended it.
  server_.log_conn_close(info_, watching_ ? log::CloseReason::error : close_reason_);
  w_.sessions.erase(in_worker_);
  // Unlisted before the descriptor is closed: once closed, the kernel may
  // hand the same number to a new connection, and `stats conns` must never
  // list one descriptor twice.
  server_.unlist_conn(in_registry_);
  ::close(info_.fd);  // also leaves the epoll set
  server_.curr_connections.fetch_sub(1);
  if (w_.draining && w_.sessions.empty()) w_.loop.stop();
}

void Server::Impl::Session::close() {
  info_.set(ConnState::closing);
  if (tls_) {
    if (tls_->handshake_failed()) server_.ssl_handshake_errors.fetch_add(1);
    tls_->shutdown();
  }
  delete this;
}

void Server::Impl::Session::on_ready(std::uint32_t events) {
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readable_ = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) writable_ = true;
  drive();
}

Server::Impl::Session::Io Server::Impl::Session::send_output() {
  exec::Output& out = handler_.output();
  if (iov_.empty()) {
    out.for_each_span([&](std::string_view s) {
      iov_.push_back({const_cast<char*>(s.data()), s.size()});
    });
  }
  if (tls_) {
    if (const Io io = send_tls(); io != Io::done) return io;
  }
  while (iov_first_ < iov_.size()) {
    if (!writable_) {
      info_.set(ConnState::mwrite);  // the client is slow to read
      return Io::wait;
    }
    msghdr msg{};
    msg.msg_iov = iov_.data() + iov_first_;
    msg.msg_iovlen = std::min<std::size_t>(iov_.size() - iov_first_, IOV_MAX);
    const ssize_t n = ::sendmsg(info_.fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return Io::failed;
      writable_ = false;
      continue;
    }
    auto sent = static_cast<std::size_t>(n);
    while (iov_first_ < iov_.size() && sent >= iov_[iov_first_].iov_len) {
      sent -= iov_[iov_first_].iov_len;
      ++iov_first_;
    }
    if (iov_first_ < iov_.size()) {
      iov_[iov_first_].iov_base = static_cast<char*>(iov_[iov_first_].iov_base) + sent;
      iov_[iov_first_].iov_len -= sent;
    }
  }
  w_.counters.bytes_written.add(out.size());
  out.clear();
  iov_.clear();
  iov_first_ = 0;
  return Io::done;
}

// Replies through TLS: iov_'s bytes, from iov_first_ on, copied into
// records. Done when all are sent (iov_ is then used up).
Server::Impl::Session::Io Server::Impl::Session::send_tls() {
  constexpr std::size_t kRecord = 16384;
  for (;;) {
    if (tls_staged_.empty()) {
      while (iov_first_ < iov_.size() && tls_staged_.size() < kRecord) {
        iovec& v = iov_[iov_first_];
        const std::size_t take = std::min(v.iov_len, kRecord - tls_staged_.size());
        tls_staged_.append(static_cast<const char*>(v.iov_base), take);
        v.iov_base = static_cast<char*>(v.iov_base) + take;
        v.iov_len -= take;
        if (v.iov_len == 0) ++iov_first_;
      }
      if (tls_staged_.empty()) return Io::done;
    }
    const TlsChannel::Result r = tls_->write(tls_staged_.data(), tls_staged_.size());
    if (r.status == TlsChannel::Status::wait) {
      info_.set(ConnState::mwrite);  // the client is slow to read
      return Io::wait;
    }
    if (r.status != TlsChannel::Status::ok) return Io::failed;
    tls_staged_.clear();  // SSL_write wrote the whole record
  }
}

Server::Impl::Session::Io Server::Impl::Session::receive(char* p, std::size_t want,
                                                         std::size_t& got, bool force) {
  if (tls_) {
    if (force) readable_ = true;
    const TlsChannel::Result r = tls_->read(p, want);
    got = r.bytes;
    if (r.status == TlsChannel::Status::ok) return Io::done;
    return r.status == TlsChannel::Status::wait ? Io::wait : Io::failed;
  }
  for (;;) {
    if (!readable_ && !force) return Io::wait;
    const ssize_t n = ::recv(info_.fd, p, want, MSG_DONTWAIT);
    if (n > 0) {
      got = static_cast<std::size_t>(n);
      if (got < want) readable_ = false;  // a short receive: the socket is drained
      return Io::done;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      readable_ = false;
      return Io::wait;
    }
    return Io::failed;  // 0: the peer left; else the connection broke
  }
}

Server::Impl::Session::Io Server::Impl::Session::receive_exact() {
  const std::span<char> all = step_.space;
  while (done_ < all.size()) {
    std::size_t got = 0;
    if (const Io io = receive(all.data() + done_, all.size() - done_, got, false); io != Io::done)
      return io;
    done_ += got;
  }
  w_.counters.bytes_read.add(all.size());
  handler_.received(all.size());
  return Io::done;
}

void Server::Impl::Session::take_live_settings() {
  ctx_.reply_limit = server_.live.conn_reply_limit();
  ctx_.latency_sample = server_.live.latency_sample();
}

Server::Impl::Session::Io Server::Impl::Session::receive_some() {
  // A graceful stop tries once more even when the socket looked empty: it
  // answers whatever has arrived, and is done once nothing is waiting.
  const bool stopping = server_.stopping.load(std::memory_order_relaxed);
  std::size_t got = 0;
  const Io io = receive(step_.space.data(), step_.space.size(), got, stopping);
  if (io == Io::wait) return stopping ? Io::failed : Io::wait;
  if (io == Io::failed) return io;
  w_.counters.bytes_read.add(got);
  take_live_settings();
  handler_.received(got);
  return Io::done;
}

void Server::Impl::Session::drive() {
  try {
    for (;;) {
      if (!have_step_) {
        step_ = handler_.next();
        have_step_ = true;
        done_ = 0;
        if (handler_.take_line_seen()) {
          // A complete command line: the idle timeout starts again.
          last_cmd_ = std::chrono::steady_clock::now();
          info_.last_cmd.store(std::time(nullptr), std::memory_order_relaxed);
        }
      }
      Io io = Io::failed;
      switch (step_.kind) {
        case exec::Connection::Step::close: break;
        case exec::Connection::Step::write: io = send_output(); break;
        case exec::Connection::Step::read_exact:
          info_.set(ConnState::nread);
          io = receive_exact();
          break;
        case exec::Connection::Step::read:
          info_.set(ConnState::read);
          io = receive_some();
          break;
        case exec::Connection::Step::wait:
          info_.set(ConnState::read);
          io = wait_for_log();
          break;
      }
      if (io == Io::wait) return;
      if (io == Io::failed) return close();
      have_step_ = false;
      info_.set(ConnState::parse_cmd);
    }
  } catch (const std::exception& e) {
    if (server_.live.verbosity() > 0) std::fprintf(stderr, "connection error: %s\n", e.what());
    close(log::CloseReason::error);
  }
}

Server::Impl::Session::Io Server::Impl::Session::wait_for_log() {
  // A watcher: nothing to send until the logger wakes it (ctx_.wake); what
  // the client sends meanwhile is read and dropped, so that its leaving is
  // noticed. Either way the connection asks next() again.
  watching_ = true;
  have_step_ = false;
  if (server_.stopping.load(std::memory_order_relaxed)) return Io::failed;
  std::size_t got = 0;
  const Io io = receive(step_.space.data(), step_.space.size(), got, false);
  if (io == Io::done) handler_.received(got);
  return io;
}

void Server::Impl::open_session(Worker& w, int fd, std::string addr, std::string listen_addr,
                                bool use_tls) {
  SSL* ssl = nullptr;
  if (use_tls && (ssl = tls.new_ssl()) == nullptr) {
    if (live.verbosity() > 0) std::fprintf(stderr, "TLS: no context for a new connection\n");
    ::close(fd);
    curr_connections.fetch_sub(1);
    return;
  }
  auto* s = new Session(*this, w, fd, std::move(addr), std::move(listen_addr), ssl);
  if (!w.loop.add(fd, *s)) {
    if (live.verbosity() > 0) std::fprintf(stderr, "epoll_ctl: %s\n", std::strerror(errno));
    s->close();
    return;
  }
  s->drive();
}

void Server::Impl::close_idle(Worker& w) {
  if (stopping.load()) return;
  const std::uint32_t idle = live.idle_timeout();
  if (idle == 0) return;
  const auto cutoff = std::chrono::steady_clock::now() - std::chrono::seconds(idle);
  for (auto it = w.sessions.begin(); it != w.sessions.end();) {
    Session* s = *it++;  // close() unlists s
    if (!s->idle_since(cutoff)) continue;
    w.counters.idle_kicks.add();
    if (live.verbosity() > 1) std::fprintf(stderr, "closing idle connection %d\n", s->fd());
    s->close(log::CloseReason::idle_timeout);
  }
}

void Server::Impl::drain(Worker& w) {
  w.draining = true;
  if (w.sessions.empty()) {
    w.loop.stop();
    return;
  }
  for (auto it = w.sessions.begin(); it != w.sessions.end();) {
    Session* s = *it++;
    if (s->state() == ConnState::read) s->drive();
  }
}

void Server::Impl::close_all(Worker& w) {
  while (!w.sessions.empty()) w.sessions.front()->close(log::CloseReason::shutdown);
}

}  // namespace memcoro::server
