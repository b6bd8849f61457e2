#pragma once
// The server's insides, shared by the files that implement it: server.cpp
// (listening, lifecycle), connection.cpp (one Session per connection, on
// its worker's EventLoop) and server_stats.cpp (what `stats` and the admin
// port read). Not a public header: only lib/server includes it.
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <list>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "event_loop.hpp"
#include "memcoro/exec/execute.hpp"
#include "memcoro/protocol/text_parser.hpp"
#include "memcoro/server/server.hpp"
#include "memcoro/server/tls_context.hpp"
#include "memcoro/stats/report.hpp"

namespace memcoro::server {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// What `stats conns` shows of a connection, with memcached's state names.
// The connection's own thread writes state and last_cmd; `stats conns`
// reads them from any thread, under the registry's lock.
enum class ConnState : std::uint8_t { read, parse_cmd, nread, mwrite, closing };
inline constexpr std::string_view kStateNames[] = {"conn_read", "conn_parse_cmd", "conn_nread",
                                                   "conn_mwrite", "conn_closing"};

// "tcp:ADDR:PORT" or "tcp6:[ADDR]:PORT", as memcached shows addresses.
std::string describe(const tcp::endpoint& ep);

struct ConnInfo {
  int fd = -1;
  std::string addr;         // the client's
  std::string listen_addr;  // ours
  std::atomic<ConnState> state{ConnState::read};
  std::atomic<std::int64_t> last_cmd{0};  // Unix seconds
  void set(ConnState s) { state.store(s, std::memory_order_relaxed); }
};

struct Server::Impl final : exec::ServerControl {
  using BindResult = Server::BindResult;
  class Session;         // one client connection (connection.cpp)
  class ConsoleSession;  // one admin console (console.cpp)
  // One worker thread: its event loop, its counters, its open connections
  // (only that thread touches the list).
  struct Worker {
    EventLoop loop;
    stats::ThreadCounters counters;
    std::list<Session*> sessions;
    std::thread thread;
    // The stop's drain has run here (worker thread only): from then on the
    // loop ends with its last session. Not before: the connections handed
    // over from the listen backlog are posted ahead of the drain.
    bool draining = false;
  };
  // One UDP socket (-U), served by a worker's loop (udp.cpp).
  class UdpSocket final : public EventLoop::Handler {
   public:
    UdpSocket(Impl& server, Worker& w, int fd);
    ~UdpSocket();
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;
    void on_ready(std::uint32_t events) override;
    int fd() const { return fd_; }
    Worker& worker() const { return w_; }

   private:
    void serve(std::size_t n, const sockaddr_storage& peer, socklen_t peer_len);
    void send(const unsigned char* request_header, std::string_view message,
              const sockaddr_storage& peer, socklen_t peer_len);
    Impl& server_;
    Worker& w_;
    int fd_;
    std::vector<char> buffer_;
  };

  config::Live& live;
  const config::Settings at_start;  // for what only a restart changes (port, threads...)
  store::Store& store;
  asio::io_context main_ctx{1};
  // The listening sockets: one per address of `listen`, or the unix socket.
  using unix_stream = asio::local::stream_protocol;
  std::vector<std::unique_ptr<tcp::acceptor>> tcp_acceptors;
  std::vector<bool> tcp_tls;  // per acceptor: its connections speak TLS
  unix_stream::acceptor unix_acceptor{main_ctx};
  std::string unix_path;  // the socket file bind() made, removed at exit
  ino_t unix_inode = 0;
  // SIGHUP reloads; SIGUSR1 (added below) stops as SIGTERM does: memcached's
  // signal for a stop that keeps a warm-restart file.
  asio::signal_set signals{main_ctx, SIGINT, SIGTERM, SIGHUP};
  std::function<void()> hup;
  std::vector<std::unique_ptr<Worker>> workers;
  std::size_t next_worker = 0;
  // The admin port's consoles (console.cpp) count here: one thread's.
  stats::ThreadCounters console_counters;
  // Every thread's counters: each worker's, then the consoles'.
  template <class Fn>
  void for_each_counters(Fn&& fn) {
    for (const auto& w : workers) fn(w->counters);
    fn(console_counters);
  }
  template <class Fn>
  void for_each_counters(Fn&& fn) const {
    for (const auto& w : workers) fn(std::as_const(w->counters));
    fn(console_counters);
  }
  protocol::ParserLimits limits;

  std::atomic<std::uint64_t> curr_connections{0};
  std::atomic<std::uint64_t> total_connections{0};
  std::atomic<std::uint64_t> rejected_connections{0};
  std::atomic<std::uint64_t> max_seen_connections{0};
  // A connection opens (accepted, or an admin console): curr, total, max seen.
  void count_open() {
    const std::uint64_t n = curr_connections.fetch_add(1) + 1;
    std::uint64_t seen = max_seen_connections.load();
    while (n > seen && !max_seen_connections.compare_exchange_weak(seen, n)) {
    }
    total_connections.fetch_add(1);
  }
  std::atomic<bool> stopping{false};
  std::int64_t started = 0;
  stats::PrefixStats prefix_stats;
  std::atomic<std::int64_t> last_accept{0};
  // -Z: the context new TLS connections are made from, and memcached's
  // count of those whose handshake failed.
  TlsContext tls;
  std::atomic<std::uint64_t> ssl_handshake_errors{0};
  // The listening sockets as `stats conns` shows them: set by bind(),
  // before any thread but the main one runs; the acceptors themselves are
  // the main thread's alone.
  struct Listener {
    int fd;
    std::string text;  // "tcp:ADDR:PORT", "tcp6:[ADDR]:PORT", "unix:PATH", "udp:ADDR:PORT"
    bool udp = false;
  };
  std::vector<Listener> listeners;
  // -U: a socket per listen address, each served by one worker's loop.
  std::vector<std::unique_ptr<UdpSocket>> udp_sockets;

  // Every client connection, for `stats conns` (taken when a connection
  // opens or closes and by `stats conns`, never per request).
  std::mutex conns_mu;
  std::list<ConnInfo*> conns;
  // Fills `c` and lists it (server_stats.cpp); unlist_conn() takes it off.
  std::list<ConnInfo*>::iterator list_conn(ConnInfo& c, int fd, std::string addr,
                                           std::string listen_addr);
  void unlist_conn(std::list<ConnInfo*>::iterator at);

  // `stats reset` subtracts this baseline rather than writing to counters
  // that other threads own.
  std::mutex baseline_mu;
  // Worker threads whose io_context ran out of work (run() waits on it).
  std::mutex finished_mu;
  std::condition_variable finished_cv;
  std::size_t workers_finished = 0;
  stats::CounterSnapshot baseline;
  stats::LatencySnapshot latency_baseline;
  std::uint64_t baseline_total_items = 0;
  std::uint64_t baseline_total_connections = 0;
  std::uint64_t baseline_rejected = 0;

  const exec::Auth* auth;

  // `watch`: the log streams every connection reports to, evictions included.
  log::Logger logger;
  exec::EvictionLog eviction_log{logger};

  Impl(config::Live& l, store::Store& st, const exec::Auth* a)
      : live(l),
        at_start(l.snapshot()),
        store(st),
        prefix_stats(at_start.prefix_delimiter),
        auth(a) {
    limits.max_item_size = at_start.max_item_size;
    signals.add(SIGUSR1);
    started = std::time(nullptr);
    for (std::uint32_t i = 0; i < at_start.threads; ++i)
      workers.push_back(std::make_unique<Worker>());
    store.set_eviction_observer(&eviction_log);
  }
  ~Impl() override {
    store.set_eviction_observer(nullptr);
    remove_unix_socket();  // also when run() never ran
  }

  // --- ServerControl -------------------------------------------------------
  std::string_view version() const override { return config::kVersion; }
  // server.cpp: each a change of live.
  void set_verbosity(unsigned level) override;
  bool set_memory_limit(std::size_t bytes) override;
  void set_automove(unsigned level) override;
  void set_lru_crawler(bool on) override;
  void set_lru_segments(unsigned hot_pct, unsigned warm_pct) override;
  bool shutdown_enabled() const override { return at_start.enable_shutdown; }
  void shutdown(bool graceful) override;
  std::string refresh_certs() override;

  // server_stats.cpp
  stats::CounterSnapshot counters() override;
  stats::LatencySnapshot latency() override;
  void reset_stats() override;
  bool report(std::span<const std::string_view> args, stats::Sink& sink) override;
  // memcached's `stats conns`: the listening socket, then every client
  // connection, by descriptor.
  void report_conns(stats::Sink& sink);
  stats::CounterSnapshot sum_counters_raw() const;
  stats::LatencySnapshot sum_latency_raw() const;
  stats::GeneralInputs general_inputs();

  // connection.cpp, each on the worker's own thread.
  // A connection the acceptor handed over: served from now on.
  void open_session(Worker& w, int fd, std::string addr, std::string listen_addr, bool tls);
  // memcached's idle timeout, checked once a second: every connection of
  // this worker that has not sent a complete command line for idle_timeout
  // seconds is closed, whatever it is waiting for (its next line, the rest
  // of a data block, or the client to read its replies). Bytes that trickle
  // in without completing a line do not count.
  void close_idle(Worker& w);
  // A graceful stop: every connection waiting for a request answers what
  // has arrived and closes once its socket is empty; one busy receiving a
  // value or sending replies goes on. The loop stops when none is left.
  void drain(Worker& w);
  // Past drain_timeout: every connection closes now.
  void close_all(Worker& w);
  // connevents (conn_events.cpp): a connection opened, or closed and why.
  void log_conn_new(const ConnInfo& c);
  void log_conn_close(const ConnInfo& c, log::CloseReason why);

  // server.cpp
  // Accepts on one listening socket (tcp or unix) and hands each
  // connection to the next worker.
  template <class Acceptor>
  awaitable<void> accept_loop(Acceptor& acceptor, std::string local, bool tls);
  // At the stop: every connection waiting in the listen backlog, accepted
  // and handed over.
  template <class Acceptor>
  void accept_backlog(Acceptor& acceptor, const std::string& local, bool tls);
  // An accepted connection to the next worker (or refused: conn_limit).
  template <class Socket>
  void hand_over(Socket sock, const std::string& local, bool tls);
  BindResult bind();
  BindResult bind_tcp(const config::ListenAddress& where);
  BindResult bind_udp(const config::ListenAddress& where);
  BindResult bind_unix();
  void remove_unix_socket();
  void begin_stop();
  // Page moves, shrinking, automove and the expiry crawler, ten times a second.
  void maintenance(std::stop_token stop);
  void wait_for_signal();
  void run();
};

}  // namespace memcoro::server
