#pragma once
// The general `stats` report: which fields, in which order, with what
// meaning: every field memcached 1.6.18 shows, in its order, emitted into a
// sink (text for the protocol, JSON and Prometheus for the admin port).
#include <cstdint>
#include <string>

#include "memcoro/stats/counters.hpp"
#include "memcoro/stats/sink.hpp"
#include "memcoro/stats/store_counters.hpp"

namespace memcoro::stats {

// Everything the general report is computed from.
struct GeneralInputs {
  std::int64_t pid = 0;
  std::uint64_t uptime = 0;
  std::int64_t time = 0;
  std::string version;
  std::string event_library;  // memcached's `libevent`: the event loop's version
  double rusage_user = 0;
  double rusage_system = 0;
  std::uint64_t max_connections = 0;
  std::uint64_t curr_connections = 0;
  std::uint64_t total_connections = 0;
  std::uint64_t rejected_connections = 0;
  std::uint64_t connection_structures = 0;
  std::uint64_t limit_maxbytes = 0;
  std::uint64_t threads = 0;
  bool accepting_conns = true;     // the listener is open
  std::uint64_t idle_timeout = 0;  // seconds; idle_kicks is shown only when set
  std::uint64_t udp_port = 0;      // udp_dropped (memcoro's own) only with UDP on
  bool lru_crawler = true;         // lru_crawler_* are shown only when enabled
  // With TLS on (-Z), as memcached: failed handshakes, and the seconds
  // since the certificate was last (re)loaded.
  bool tls = false;
  std::uint64_t ssl_handshake_errors = 0;
  std::uint64_t time_since_server_cert_refresh = 0;
  // `watch` (memcached's log_* fields): lines formatted, handed to
  // watchers, dropped for a full watcher buffer; watchers connected.
  std::uint64_t log_worker_written = 0;
  std::uint64_t log_watcher_sent = 0;
  std::uint64_t log_watcher_skipped = 0;
  std::uint64_t log_watchers = 0;
  StoreCounters store;  // total_items since `stats reset`
  CounterSnapshot counters;
};

void general_stats(const GeneralInputs& in, Sink& sink);

}  // namespace memcoro::stats
