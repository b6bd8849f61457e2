// What the server itself answers to `stats` (general, settings, conns)
// and hands the admin port: counters summed over the workers, less the
// `stats reset` baseline.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "memcoro/stats/ticks.hpp"
#include "server_impl.hpp"

namespace memcoro::server {
namespace {

// How many of the most read and most written keys `stats hotkeys` lists.
constexpr std::size_t kHotKeysShown = 20;

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
}

}  // namespace

std::string describe(const tcp::endpoint& ep) {
  return log::describe_tcp(ep.address().to_string(), ep.port());
}

stats::CounterSnapshot Server::Impl::counters() {
  std::lock_guard lock(baseline_mu);
  stats::CounterSnapshot c = sum_counters_raw();
  c -= baseline;
  return c;
}

stats::LatencySnapshot Server::Impl::latency() {
  std::lock_guard lock(baseline_mu);
  stats::LatencySnapshot s = sum_latency_raw();
  s -= latency_baseline;
  return s;
}

void Server::Impl::reset_stats() {
  std::lock_guard lock(baseline_mu);
  baseline = sum_counters_raw();
  latency_baseline = sum_latency_raw();
  baseline_total_items = store.counters().total_items;
  baseline_total_connections = total_connections.load();
  baseline_rejected = rejected_connections.load();
}

bool Server::Impl::report(std::span<const std::string_view> args, stats::Sink& sink) {
  if (args.empty()) {
    stats::general_stats(general_inputs(), sink);
    return true;
  }
  if (args[0] == "hotkeys" && args.size() == 1) {
    const std::uint64_t now = stats::seconds_now();
    std::vector<stats::HotKeysSample> samples;
    for_each_counters([&](stats::ThreadCounters& c) { samples.push_back(c.hot_keys.read(now)); });
    stats::hot_keys_report(stats::merge_hot_keys(samples, kHotKeysShown),
                           live.snapshot().hot_keys_hidden, sink);
    return true;
  }
  if (args[0] == "conns" && args.size() == 1) {
    report_conns(sink);
    return true;
  }
  if (args[0] == "settings") {
    const std::pair<std::string_view, std::string> runtime[] = {
        {"oldest", std::to_string(store.oldest_live())},
        {"detail_enabled", prefix_stats.enabled() ? "yes" : "no"},
        {"memory_reserve", std::to_string(store.max_memory_limit())}};
    for (const auto& [name, value] : config::stats_settings(live.snapshot(), runtime)) {
      sink.add(name, value);
    }
    return true;
  }
  return false;
}

std::list<ConnInfo*>::iterator Server::Impl::list_conn(ConnInfo& c, int fd, std::string addr,
                                                       std::string listen_addr) {
  c.fd = fd;
  c.addr = std::move(addr);
  c.listen_addr = std::move(listen_addr);
  c.last_cmd.store(std::time(nullptr), std::memory_order_relaxed);
  std::lock_guard lock(conns_mu);
  return conns.insert(conns.end(), &c);
}

void Server::Impl::unlist_conn(std::list<ConnInfo*>::iterator at) {
  std::lock_guard lock(conns_mu);
  conns.erase(at);
}

void Server::Impl::report_conns(stats::Sink& sink) {
  const std::int64_t now = std::time(nullptr);
  auto secs = [&](std::int64_t t) { return std::int64_t{now > t ? now - t : 0}; };
  struct Row {
    int fd;
    const ConnInfo* info;       // null: a listening socket
    const std::string* listen;  // that listening socket's address
    bool udp;
  };
  std::lock_guard lock(conns_mu);
  std::vector<Row> rows;
  if (!stopping.load()) {
    for (const Listener& l : listeners) rows.push_back({l.fd, nullptr, &l.text, l.udp});
  }
  for (const ConnInfo* c : conns) rows.push_back({c->fd, c, nullptr, false});
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.fd < b.fd; });
  for (const Row& r : rows) {
    const stats::Label conn{stats::Group::connection, static_cast<std::uint64_t>(r.fd)};
    if (r.info == nullptr && r.udp) {  // memcached's rows for a UDP socket
      sink.add("UDP", "UDP", conn);
      sink.add("addr", *r.listen, conn);
      sink.add("state", "conn_read", conn);
      sink.add("secs_since_last_cmd", secs(started), conn);
      continue;
    }
    if (r.info == nullptr) {
      sink.add("addr", *r.listen, conn);
      sink.add("state", "conn_listening", conn);
      // (memcached counts a listener from its start until it accepts)
      sink.add("secs_since_last_cmd",
               secs(std::max(last_accept.load(std::memory_order_relaxed), started)), conn);
      continue;
    }
    sink.add("addr", r.info->addr, conn);
    sink.add("listen_addr", r.info->listen_addr, conn);
    sink.add("state",
             kStateNames[static_cast<unsigned>(r.info->state.load(std::memory_order_relaxed))],
             conn);
    sink.add("secs_since_last_cmd", secs(r.info->last_cmd.load(std::memory_order_relaxed)), conn);
  }
}

stats::CounterSnapshot Server::Impl::sum_counters_raw() const {
  stats::CounterSnapshot sum;
  for_each_counters([&](const stats::ThreadCounters& c) { sum += c.snapshot(); });
  return sum;
}

stats::LatencySnapshot Server::Impl::sum_latency_raw() const {
  stats::LatencySnapshot sum;
  for_each_counters([&](const stats::ThreadCounters& c) { sum += c.latency.snapshot(); });
  return sum;
}

stats::GeneralInputs Server::Impl::general_inputs() {
  stats::GeneralInputs in;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const std::int64_t now = std::time(nullptr);
  const config::Settings in_force = live.snapshot();
  in.store = store.counters();
  const log::Logger::Counts log_counts = logger.counts();
  in.log_worker_written = log_counts.written;
  in.log_watcher_sent = log_counts.sent;
  in.log_watcher_skipped = log_counts.skipped;
  in.log_watchers = log_counts.watchers;
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
  in.max_connections = in_force.conn_limit;
  in.curr_connections = curr_connections.load();
  in.total_connections = total_connections.load() - baseline_total_connections;
  in.rejected_connections = rejected_connections.load() - baseline_rejected;
  in.connection_structures = max_seen_connections.load();
  in.limit_maxbytes = in_force.memory_limit;
  in.threads = workers.size();
  in.accepting_conns = !stopping.load();
  in.idle_timeout = in_force.idle_timeout;
  in.udp_port = at_start.unix_socket.empty() ? at_start.udp_port : 0;
  in.lru_crawler = in_force.lru_crawler;
  in.tls = at_start.ssl_enabled;
  in.ssl_handshake_errors = ssl_handshake_errors.load();
  const std::int64_t refreshed = tls.refreshed_at();
  in.time_since_server_cert_refresh =
      static_cast<std::uint64_t>(now > refreshed ? now - refreshed : 0);
  in.store.total_items -= baseline_total_items;
  in.counters = sum_counters_raw();
  in.counters -= baseline;
  return in;
}

}  // namespace memcoro::server
