#include "memcoro/stats/report.hpp"

#include <cstdio>

namespace memcoro::stats {

std::vector<Stat> general_stats(const GeneralInputs& in) {
  const CounterSnapshot& c = in.counters;
  // memcached's order, so that diffing the two servers' output is easy.
  return {
      {"pid", in.pid},
      {"uptime", in.uptime},
      {"time", in.time},
      {"version", in.version},
      {"pointer_size", std::int64_t{8 * sizeof(void*)}},
      {"rusage_user", in.rusage_user},
      {"rusage_system", in.rusage_system},
      {"max_connections", in.max_connections},
      {"curr_connections", in.curr_connections},
      {"total_connections", in.total_connections},
      {"rejected_connections", in.rejected_connections},
      {"connection_structures", in.connection_structures},
      {"cmd_get", c.cmd_get},
      {"cmd_set", c.cmd_set},
      {"cmd_flush", c.cmd_flush},
      {"cmd_touch", c.cmd_touch},
      {"get_hits", c.get_hits},
      {"get_misses", c.get_misses},
      {"get_expired", c.get_expired},
      {"get_flushed", c.get_flushed},
      {"delete_misses", c.delete_misses},
      {"delete_hits", c.delete_hits},
      {"incr_misses", c.incr_misses},
      {"incr_hits", c.incr_hits},
      {"decr_misses", c.decr_misses},
      {"decr_hits", c.decr_hits},
      {"cas_misses", c.cas_misses},
      {"cas_hits", c.cas_hits},
      {"cas_badval", c.cas_badval},
      {"touch_hits", c.touch_hits},
      {"touch_misses", c.touch_misses},
      {"store_too_large", c.store_too_large},
      {"store_no_memory", c.store_no_memory},
      {"bytes_read", c.bytes_read},
      {"bytes_written", c.bytes_written},
      {"limit_maxbytes", in.limit_maxbytes},
      {"threads", in.threads},
      {"slab_reassign_rescues", in.slab_reassign_rescues},
      {"slab_reassign_evictions_nomem", in.slab_reassign_evictions},
      {"slab_reassign_busy_items", in.slab_reassign_busy_items},
      {"slab_reassign_running", std::uint64_t{in.slab_reassign_running}},
      {"slabs_moved", in.slabs_moved},
      {"bytes", in.bytes},
      {"curr_items", in.curr_items},
      {"total_items", in.total_items},
      {"expired_unfetched", in.expired_unfetched},
      {"evicted_unfetched", in.evicted_unfetched},
      {"evictions", in.evictions},
      {"reclaimed", in.reclaimed},
      {"crawler_reclaimed", in.crawler_reclaimed},
      {"idle_kicks", c.idle_kicks},
      // memcoro's own (memcached serves the binary protocol).
      {"rejected_binary_connections", c.rejected_binary_connections},
  };
}

void write_text(const std::vector<Stat>& stats, std::string& out) {
  char buf[64];
  for (const Stat& s : stats) {
    out += "STAT ";
    out += s.name;
    out += ' ';
    if (auto* u = std::get_if<std::uint64_t>(&s.value)) {
      out += std::to_string(*u);
    } else if (auto* i = std::get_if<std::int64_t>(&s.value)) {
      out += std::to_string(*i);
    } else if (auto* d = std::get_if<double>(&s.value)) {
      std::snprintf(buf, sizeof buf, "%.6f", *d);
      out += buf;
    } else {
      out += std::get<std::string>(s.value);
    }
    out += "\r\n";
  }
  out += "END\r\n";
}

}  // namespace memcoro::stats
