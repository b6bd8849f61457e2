#include "memcoro/server/server.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <list>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "memcoro/exec/execute.hpp"
#include "memcoro/protocol/text_parser.hpp"
#include "memcoro/stats/report.hpp"

namespace memcoro::server {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// Connections run on their worker io_context's own executor type rather
// than the type-erased any_io_executor: no type-erased call per operation.
using WorkerExecutor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, WorkerExecutor>;
template <class T>
using Task = asio::awaitable<T, WorkerExecutor>;
using Timer =
    asio::basic_waitable_timer<std::chrono::steady_clock,
                               asio::wait_traits<std::chrono::steady_clock>, WorkerExecutor>;
constexpr auto worker_nothrow = asio::as_tuple(asio::use_awaitable_t<WorkerExecutor>{});

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
// Data blocks at least this large that have not all arrived are read straight
// into their item.
constexpr std::size_t kInPlaceMin = 16 * 1024;
constexpr std::string_view kTooManyConnections = "ERROR Too many open connections\r\n";

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
}

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

// What `stats conns` shows of a connection, with memcached's state names.
// The connection's own thread writes state and last_cmd; `stats conns`
// reads them from any thread, under the registry's lock.
enum class ConnState : std::uint8_t { read, parse_cmd, nread, mwrite, closing };
constexpr std::string_view kStateNames[] = {"conn_read", "conn_parse_cmd", "conn_nread",
                                            "conn_mwrite", "conn_closing"};

std::string describe(const tcp::endpoint& ep) {
  const asio::ip::address a = ep.address();
  if (a.is_v6()) return "tcp6:[" + a.to_string() + "]:" + std::to_string(ep.port());
  return "tcp:" + a.to_string() + ":" + std::to_string(ep.port());
}

struct ConnInfo {
  int fd = -1;
  std::string addr;         // the client's
  std::string listen_addr;  // ours
  std::atomic<ConnState> state{ConnState::read};
  std::atomic<std::int64_t> last_cmd{0};  // Unix seconds
  void set(ConnState s) { state.store(s, std::memory_order_relaxed); }
};

// A connection as its worker thread sees it (only that thread touches it).
struct Conn {
  Socket& sock;
  ConnInfo& info;
  // When the connection last sent a complete command line (memcached's
  // last_cmd_time): the idle timeout counts from here.
  std::chrono::steady_clock::time_point last_cmd;
  bool kicked = false;  // closed by the idle timeout
};

// One worker thread: its io_context, its counters, its open connections.
struct Worker {
  asio::io_context ctx{1};
  stats::ThreadCounters counters;
  std::list<Conn*> conns;  // only touched on this worker's thread
  Timer idle_check{ctx.get_executor()};
  std::thread thread;
};

struct Server::Impl final : exec::ServerControl {
  using BindResult = Server::BindResult;
  config::Settings settings;
  store::Store& store;
  asio::io_context main_ctx{1};
  tcp::acceptor acceptor{main_ctx};
  asio::signal_set signals{main_ctx, SIGINT, SIGTERM, SIGHUP};
  std::function<void()> hup;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::size_t next_worker = 0;
  protocol::ParserLimits limits;

  std::atomic<std::uint64_t> curr_connections{0};
  std::atomic<std::uint64_t> total_connections{0};
  std::atomic<std::uint64_t> rejected_connections{0};
  std::atomic<std::uint64_t> max_seen_connections{0};
  std::atomic<std::uint32_t> conn_limit;
  std::atomic<std::uint32_t> verbosity;
  std::atomic<std::uint32_t> idle_timeout;
  std::atomic<std::uint32_t> drain_timeout;
  std::atomic<std::size_t> reply_limit;
  std::atomic<bool> stopping{false};
  std::int64_t started = 0;
  stats::PrefixStats prefix_stats;
  std::atomic<std::int64_t> last_accept{0};
  // The listening socket as `stats conns` shows it: set by bind(), before
  // any thread but the main one runs; the acceptor itself is the main
  // thread's alone.
  int listen_fd = -1;
  std::string listen_text;

  // Every client connection, for `stats conns` (taken when a connection
  // opens or closes and by `stats conns`, never per request).
  std::mutex conns_mu;
  std::list<ConnInfo*> conns;

  // `stats reset` subtracts this baseline rather than writing to counters
  // that other threads own.
  std::mutex baseline_mu;
  stats::CounterSnapshot baseline;
  std::uint64_t baseline_total_items = 0;
  std::uint64_t baseline_total_connections = 0;
  std::uint64_t baseline_rejected = 0;

  Impl(const config::Settings& s, store::Store& st)
      : settings(s),
        store(st),
        conn_limit(s.conn_limit),
        verbosity(s.verbosity),
        idle_timeout(s.idle_timeout),
        drain_timeout(s.drain_timeout),
        reply_limit(s.conn_reply_limit),
        prefix_stats(s.prefix_delimiter) {
    limits.max_item_size = s.max_item_size;
    started = std::time(nullptr);
    for (std::uint32_t i = 0; i < s.threads; ++i) {
      workers.push_back(std::make_unique<Worker>());
      guards.push_back(asio::make_work_guard(workers.back()->ctx));
    }
  }

  // --- ServerControl -------------------------------------------------------
  std::string_view version() const override { return config::kVersion; }
  void set_verbosity(unsigned level) override { verbosity = level > 2 ? 2 : level; }
  void memory_limit_changed(std::size_t bytes) override {
    if (verbosity > 0) std::fprintf(stderr, "maxbytes adjusted to %zum\n", bytes >> 20);
  }
  stats::CounterSnapshot counters() override {
    std::lock_guard lock(baseline_mu);
    stats::CounterSnapshot c = sum_counters_raw();
    c -= baseline;
    return c;
  }
  void reset_stats() override {
    std::lock_guard lock(baseline_mu);
    baseline = sum_counters_raw();
    baseline_total_items = store.counters().total_items;
    baseline_total_connections = total_connections.load();
    baseline_rejected = rejected_connections.load();
  }
  // `base` with the live settings as they are now (the text protocol's
  // verbosity, cache_memlimit, slabs automove, lru_crawler and lru tune
  // change them too).
  config::Settings live_settings(config::Settings base) const {
    base.conn_limit = conn_limit.load();
    base.verbosity = verbosity.load();
    base.idle_timeout = idle_timeout.load();
    base.drain_timeout = drain_timeout.load();
    base.conn_reply_limit = reply_limit.load();
    base.memory_limit = store.memory_limit();
    base.slab_automove = store.automove();
    base.lru_crawler = store.lru_crawler();
    base.hot_lru_pct = store.hot_pct();
    base.warm_lru_pct = store.warm_pct();
    return base;
  }
  bool stats(std::span<const std::string_view> args, exec::Output& out) override {
    if (args.empty()) {
      stats::write_text(stats::general_stats(general_inputs()), out.text());
      return true;
    }
    if (args[0] == "conns" && args.size() == 1) {
      write_conns(out.text());
      return true;
    }
    if (args[0] == "settings") {
      auto& text = out.text();
      const config::Settings live = live_settings(settings);
      auto add = [&](std::string_view name, std::string_view value) {
        text += "STAT ";
        text += name;
        text += ' ';
        text += value;
        text += "\r\n";
      };
      const std::pair<std::string_view, std::string> runtime[] = {
          {"oldest", std::to_string(store.oldest_live())},
          {"detail_enabled", prefix_stats.enabled() ? "yes" : "no"}};
      for (auto& [name, value] : config::stats_settings(live, runtime)) add(name, value);
      text += "END\r\n";
      return true;
    }
    return false;
  }

  // memcached's `stats conns`: the listening socket, then every client
  // connection, by descriptor.
  void write_conns(std::string& text) {
    const std::int64_t now = std::time(nullptr);
    auto line = [&](int fd, std::string_view name, std::string_view value) {
      text += "STAT ";
      text += std::to_string(fd);
      text += ':';
      text += name;
      text += ' ';
      text += value;
      text += "\r\n";
    };
    auto secs = [&](std::int64_t t) { return std::to_string(now > t ? now - t : 0); };
    struct Row {
      int fd;
      const ConnInfo* info;  // null: the listening socket
    };
    std::lock_guard lock(conns_mu);
    std::vector<Row> rows;
    if (listen_fd >= 0 && !stopping.load()) rows.push_back({listen_fd, nullptr});
    for (const ConnInfo* c : conns) rows.push_back({c->fd, c});
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.fd < b.fd; });
    for (const Row& r : rows) {
      if (r.info == nullptr) {
        line(r.fd, "addr", listen_text);
        line(r.fd, "state", "conn_listening");
        line(r.fd, "secs_since_last_cmd", secs(last_accept.load(std::memory_order_relaxed)));
        continue;
      }
      line(r.fd, "addr", r.info->addr);
      line(r.fd, "listen_addr", r.info->listen_addr);
      line(r.fd, "state",
           kStateNames[static_cast<unsigned>(r.info->state.load(std::memory_order_relaxed))]);
      line(r.fd, "secs_since_last_cmd", secs(r.info->last_cmd.load(std::memory_order_relaxed)));
    }
    text += "END\r\n";
  }

  stats::CounterSnapshot sum_counters_raw() const {
    stats::CounterSnapshot sum;
    for (const auto& w : workers) sum += w->counters.snapshot();
    return sum;
  }

  stats::GeneralInputs general_inputs() {
    stats::GeneralInputs in;
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const std::int64_t now = std::time(nullptr);
    const store::StoreCounters sc = store.counters();
    std::lock_guard lock(baseline_mu);
    in.pid = getpid();
    in.uptime = static_cast<std::uint64_t>(now - started);
    in.time = now;
    in.version = std::string(config::kVersion);
    // memcached names its event library's version; memcoro's is Boost.Asio.
    in.event_library = "asio-" + std::to_string(BOOST_ASIO_VERSION / 100000) + "." +
                       std::to_string(BOOST_ASIO_VERSION / 100 % 1000) + "." +
                       std::to_string(BOOST_ASIO_VERSION % 100);
    in.rusage_user = seconds(ru.ru_utime);
    in.rusage_system = seconds(ru.ru_stime);
    in.max_connections = conn_limit.load();
    in.curr_connections = curr_connections.load();
    in.total_connections = total_connections.load() - baseline_total_connections;
    in.rejected_connections = rejected_connections.load() - baseline_rejected;
    in.connection_structures = max_seen_connections.load();
    in.limit_maxbytes = store.memory_limit();
    in.threads = workers.size();
    in.curr_items = sc.curr_items;
    in.total_items = sc.total_items - baseline_total_items;
    in.bytes = sc.bytes;
    in.evictions = sc.evictions;
    in.reclaimed = sc.reclaimed;
    in.expired_unfetched = sc.expired_unfetched;
    in.evicted_unfetched = sc.evicted_unfetched;
    in.crawler_reclaimed = sc.crawler_reclaimed;
    in.slabs_moved = sc.slabs_moved;
    in.slab_reassign_evictions = sc.slab_reassign_evictions;
    in.slab_reassign_rescues = sc.slab_reassign_rescues;
    in.slab_reassign_busy_items = sc.slab_reassign_busy_items;
    in.slab_reassign_running = sc.slab_reassign_running;
    in.accepting_conns = !stopping.load();
    in.idle_timeout = idle_timeout.load();
    in.lru_crawler = store.lru_crawler();
    in.lru_crawler_running = sc.lru_crawler_running;
    in.lru_crawler_starts = sc.lru_crawler_starts;
    in.hash_power_level = sc.hash_power_level;
    in.hash_bytes = sc.hash_bytes;
    in.evicted_active = sc.evicted_active;
    in.crawler_items_checked = sc.crawler_items_checked;
    in.lrutail_reflocked = sc.lrutail_reflocked;
    in.moves_to_cold = sc.moves_to_cold;
    in.moves_to_warm = sc.moves_to_warm;
    in.moves_within_lru = sc.moves_within_lru;
    in.direct_reclaims = sc.direct_reclaims;
    in.counters = sum_counters_raw();
    in.counters -= baseline;
    return in;
  }

  // --- connections ---------------------------------------------------------
  awaitable<void> accept_loop() {
    for (;;) {
      Worker& w = *workers[next_worker];
      next_worker = (next_worker + 1) % workers.size();
      auto [ec, sock] = co_await acceptor.async_accept(w.ctx, use_nothrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || stopping) co_return;
        // Out of descriptors and similar: back off briefly instead of spinning.
        if (verbosity > 0) std::fprintf(stderr, "accept: %s\n", ec.message().c_str());
        asio::steady_timer t(main_ctx, std::chrono::milliseconds(10));
        co_await t.async_wait(use_nothrow);
        continue;
      }
      if (curr_connections.load() >= conn_limit.load()) {
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
      asio::co_spawn(w.ctx, session(std::move(sock), w), asio::detached);
    }
  }

  Task<void> session(Socket sock, Worker& w) {
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
    struct Exit {
      Impl& self;
      Worker& w;
      std::list<Conn*>::iterator pos;
      std::list<ConnInfo*>::iterator listed;
      ~Exit() {
        w.conns.erase(pos);
        {
          std::lock_guard lock(self.conns_mu);
          self.conns.erase(listed);
        }
        self.curr_connections.fetch_sub(1);
      }
    } on_exit{*this, w, registered, listed};

    sock.set_option(tcp::no_delay(true), ignored);
    sock.non_blocking(true, ignored);  // write_all's first try must not block
    try {
      co_await serve(conn, w);
    } catch (const std::exception& e) {
      if (verbosity > 0) std::fprintf(stderr, "connection error: %s\n", e.what());
    }
    info.set(ConnState::closing);
    sock.close(ignored);
  }

  // asio::async_read/async_write cap each system call at 64 KiB; a large
  // value is better moved with as few calls as the kernel allows.
  static Task<bool> read_all(Socket& sock, char* dst, std::size_t n) {
    while (n > 0) {
      auto [ec, got] = co_await sock.async_read_some(asio::buffer(dst, n), worker_nothrow);
      if (ec || got == 0) co_return false;
      dst += got;
      n -= got;
    }
    co_return true;
  }

  static Task<bool> write_all(Socket& sock, std::vector<asio::const_buffer>& iov, ConnInfo& info) {
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

  // Sends what `out` holds in one gathered write; false if the connection
  // failed. Until the client has read it, this connection runs nothing more.
  Task<bool> send(Socket& sock, exec::Output& out, std::vector<asio::const_buffer>& iov, Worker& w,
                  ConnInfo& info) {
    iov.clear();
    out.for_each_span([&](std::string_view s) { iov.emplace_back(s.data(), s.size()); });
    const bool ok = co_await write_all(sock, iov, info);
    w.counters.bytes_written.add(out.size());
    out.clear();
    co_return ok;
  }

  Task<void> serve(Conn& conn, Worker& w) {
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
    // A complete command line arrived: the idle timeout starts again.
    auto saw_command = [&] {
      conn.last_cmd = std::chrono::steady_clock::now();
      info.last_cmd.store(std::time(nullptr), std::memory_order_relaxed);
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
      bool got_line = false;
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
          if (!block_pending) saw_command();  // the line is complete; its data block is not
          block_pending = true;
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
        if (!got_line && !block_pending) saw_command();
        got_line = true;
        block_pending = false;
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

  // memcached's idle timeout: once a second, every connection of this
  // worker that has not sent a complete command line for idle_timeout
  // seconds is closed, whatever it is waiting for (its next line, the rest
  // of a data block, or the client to read its replies). Bytes that trickle
  // in without completing a line do not count.
  Task<void> watch_idle(Worker& w) {
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

  // --- lifecycle -----------------------------------------------------------
  BindResult bind() {
    boost::system::error_code ec;
    const asio::ip::address addr = asio::ip::make_address(settings.listen, ec);
    if (ec) return {0, "'" + settings.listen + "' is not an IP address"};
    const tcp::endpoint ep(addr, settings.port);
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
      acceptor.listen(static_cast<int>(settings.backlog), ec);
    }
    if (ec) return {0, std::string(step) + ": " + ec.message()};
    listen_fd = acceptor.native_handle();
    listen_text = describe(acceptor.local_endpoint());
    return {acceptor.local_endpoint().port(), {}};
  }

  void begin_stop() {
    if (stopping.exchange(true)) return;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    signals.cancel(ignored);
    // Drain: a connection waiting for its next request wakes up, answers
    // whatever has already arrived, and closes once its socket is empty
    // (see serve()); one busy receiving a value or sending replies goes on.
    // run() bounds all of it by drain_timeout.
    for (auto& w : workers) {
      asio::post(w->ctx, [wp = w.get()] {
        wp->idle_check.cancel();
        for (Conn* c : wp->conns) {
          if (c->info.state.load(std::memory_order_relaxed) != ConnState::read) continue;
          boost::system::error_code e;
          c->sock.cancel(e);
        }
      });
    }
    for (auto& g : guards) g.reset();
  }

  // Page moves, shrinking, automove and the expiry crawler, ten times a second.
  void maintenance(std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    while (!stop.stop_requested()) {
      store.maintenance_tick();
      cv.wait_for(lock, stop, std::chrono::milliseconds(100), [] { return false; });
    }
  }

  void wait_for_signal() {
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

  void run() {
    std::jthread maintainer([this](std::stop_token st) { maintenance(st); });
    wait_for_signal();
    asio::co_spawn(main_ctx, accept_loop(), asio::detached);
    for (auto& w : workers) {
      asio::co_spawn(w->ctx, watch_idle(*w), asio::detached);
      w->thread = std::thread([wp = w.get()] { wp->ctx.run(); });
    }
    main_ctx.run();
    // Connections answer what they already received (begin_stop); after
    // drain_timeout the rest are closed regardless.
    auto wait_until = [this](std::chrono::steady_clock::time_point deadline) {
      for (auto& w : workers) {
        while (!w->ctx.stopped() && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
    };
    wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(drain_timeout.load()));
    // Past the drain timeout, close what is left: each session then ends
    // by itself (and unregisters) before its io_context goes away.
    for (auto& w : workers) {
      asio::post(w->ctx, [wp = w.get()] {
        for (Conn* c : wp->conns) {
          boost::system::error_code ignored;
          c->sock.close(ignored);
        }
      });
    }
    wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(2));
    for (auto& w : workers) {
      w->ctx.stop();
      if (w->thread.joinable()) w->thread.join();
    }
  }
};

exec::ServerControl& Server::control() {
  return *impl_;
}

void Server::on_sighup(std::function<void()> fn) {
  impl_->hup = std::move(fn);
}

config::Settings Server::live_settings(const config::Settings& base) const {
  return impl_->live_settings(base);
}

std::optional<config::Rejection> Server::apply_live(const config::Settings& s) {
  // The store may refuse a memory limit; it is the only setting that can
  // fail, so it goes first: when it is refused, nothing has changed yet.
  if (s.memory_limit != impl_->store.memory_limit() &&
      !impl_->store.set_memory_limit(s.memory_limit)) {
    return config::Rejection{"memory_limit",
                             "the store refused a limit of " + std::to_string(s.memory_limit) +
                                 " bytes (cache_memlimit answers MEMLIMIT_ADJUST_FAILED to it)",
                             false};
  }
  impl_->conn_limit = s.conn_limit;
  impl_->verbosity = s.verbosity;
  impl_->idle_timeout = s.idle_timeout;
  impl_->drain_timeout = s.drain_timeout;
  impl_->reply_limit = s.conn_reply_limit;
  impl_->store.set_automove(s.slab_automove);
  impl_->store.set_lru_crawler(s.lru_crawler);
  impl_->store.set_lru_segments(s.hot_lru_pct, s.warm_lru_pct);
  return std::nullopt;
}

bool Server::accepting() const {
  return impl_->listen_fd >= 0 && !impl_->stopping;
}

Server::Server(const config::Settings& settings, store::Store& store)
    : impl_(std::make_unique<Impl>(settings, store)) {}
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
