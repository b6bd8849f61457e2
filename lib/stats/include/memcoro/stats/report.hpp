#pragma once
// The general `stats` report: which fields, in which order, with what
// meaning. The text protocol view (and later JSON and Prometheus) format
// the same list.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "memcoro/stats/counters.hpp"

namespace memcoro::stats {

struct Stat {
  std::string_view name;
  std::variant<std::uint64_t, std::int64_t, double, std::string> value;
};

// Everything the general report is computed from.
struct GeneralInputs {
  std::int64_t pid = 0;
  std::uint64_t uptime = 0;
  std::int64_t time = 0;
  std::string version;
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
  CounterSnapshot counters;
};

std::vector<Stat> general_stats(const GeneralInputs& in);

// "STAT <name> <value>\r\n" for each, then "END\r\n".
void write_text(const std::vector<Stat>& stats, std::string& out);

}  // namespace memcoro::stats
