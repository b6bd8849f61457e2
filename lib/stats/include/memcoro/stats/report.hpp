#pragma once
// The general `stats` report: which fields, in which order, with what
// meaning: every field memcached 1.6.18 shows, in its order, emitted into a
// sink (text for the protocol, JSON and Prometheus for the admin port).
#include <cstdint>
#include <string>

#include "memcoro/stats/counters.hpp"
#include "memcoro/stats/sink.hpp"

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
  std::uint64_t curr_items = 0;
  std::uint64_t total_items = 0;
  std::uint64_t bytes = 0;
  std::uint64_t evictions = 0;
  std::uint64_t reclaimed = 0;
  std::uint64_t expired_unfetched = 0;
  std::uint64_t evicted_unfetched = 0;
  std::uint64_t crawler_reclaimed = 0;
  std::uint64_t slabs_moved = 0;
  std::uint64_t slab_reassign_rescues = 0;
  std::uint64_t slab_reassign_evictions = 0;
  std::uint64_t slab_reassign_busy_items = 0;
  bool slab_reassign_running = false;
  bool accepting_conns = true;     // the listener is open
  std::uint64_t idle_timeout = 0;  // seconds; idle_kicks is shown only when set
  bool lru_crawler = true;         // lru_crawler_* are shown only when enabled
  bool lru_crawler_running = false;
  std::uint64_t lru_crawler_starts = 0;
  std::uint64_t hash_power_level = 0;
  std::uint64_t hash_bytes = 0;
  std::uint64_t evicted_active = 0;
  std::uint64_t crawler_items_checked = 0;
  std::uint64_t lrutail_reflocked = 0;
  std::uint64_t moves_to_cold = 0;
  std::uint64_t moves_to_warm = 0;
  std::uint64_t moves_within_lru = 0;
  std::uint64_t direct_reclaims = 0;
  CounterSnapshot counters;
};

void general_stats(const GeneralInputs& in, Sink& sink);

}  // namespace memcoro::stats
