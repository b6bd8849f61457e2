#include "memcoro/stats/report.hpp"

#include <cstdio>

namespace memcoro::stats {

std::vector<Stat> general_stats(const GeneralInputs& in) {
  const CounterSnapshot& c = in.counters;
  // Fields memcoro has no mechanism for carry the value memcached shows
  // with that mechanism off or unused; each says why. Nothing is left out,
  // so tools that parse memcached's `stats` find every field.
  constexpr std::uint64_t kOff = 0;
  std::vector<Stat> s = {
      {"pid", in.pid},
      {"uptime", in.uptime},
      {"time", in.time},
      {"version", in.version},
      {"libevent", in.event_library},
      {"pointer_size", std::int64_t{8 * sizeof(void*)}},
      {"rusage_user", in.rusage_user},
      {"rusage_system", in.rusage_system},
      {"max_connections", in.max_connections},
      {"curr_connections", in.curr_connections},
      {"total_connections", in.total_connections},
      {"rejected_connections", in.rejected_connections},
      {"connection_structures", in.connection_structures},
      // memcached's pooled response objects: memcoro builds replies in each
      // connection's own buffer, with no pool to run out of or count.
      {"response_obj_oom", kOff},
      {"response_obj_count", kOff},
      {"response_obj_bytes", kOff},
      // memcached's shared pool of read buffers: memcoro's read buffers belong
      // to their connection and are not pooled or counted here.
      {"read_buf_count", kOff},
      {"read_buf_bytes", kOff},
      {"read_buf_bytes_free", kOff},
      {"read_buf_oom", kOff},
      // Descriptors held back from -c for listeners and pipes: memcoro
      // reserves none (a connection over -c is refused, as with maxconns_fast).
      {"reserved_fds", kOff},
      {"cmd_get", c.cmd_get},
      {"cmd_set", c.cmd_set},
      {"cmd_flush", c.cmd_flush},
      {"cmd_touch", c.cmd_touch},
      {"cmd_meta", c.cmd_meta},
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
      // No SASL or ASCII authentication in memcoro: memcached's values with
      // authentication off.
      {"auth_cmds", kOff},
      {"auth_errors", kOff},
  };
  // As memcached: shown only while an idle timeout is set.
  if (in.idle_timeout != 0) s.push_back({"idle_kicks", c.idle_kicks});
  s.insert(s.end(), {
                        {"bytes_read", c.bytes_read},
                        {"bytes_written", c.bytes_written},
                        {"limit_maxbytes", in.limit_maxbytes},
                        {"accepting_conns", std::uint64_t{in.accepting_conns}},
                        // memcoro never stops listening when connections run
                        // out (it refuses the extra one, as memcached's
                        // maxconns_fast): memcached's values when that never
                        // happens.
                        {"listen_disabled_num", kOff},
                        {"time_in_listen_disabled_us", kOff},
                        {"threads", in.threads},
                        // memcached yields a connection after reqs_per_event
                        // requests; a memcoro connection runs its whole batch.
                        {"conn_yields", kOff},
                        {"hash_power_level", in.hash_power_level},
                        {"hash_bytes", in.hash_bytes},
                        // The index grows under its stripe's lock, never in
                        // the background, so it is never seen expanding.
                        {"hash_is_expanding", kOff},
                        {"slab_reassign_rescues", in.slab_reassign_rescues},
                        // Chunked items (larger than the slab page) do not
                        // exist in memcoro: none to rescue.
                        {"slab_reassign_chunk_rescues", kOff},
                        {"slab_reassign_evictions_nomem", in.slab_reassign_evictions},
                        // The mover takes free chunks of a moving page without
                        // a separate reclaim step.
                        {"slab_reassign_inline_reclaim", kOff},
                        {"slab_reassign_busy_items", in.slab_reassign_busy_items},
                        // A deleted item leaves the page at once: never busy.
                        {"slab_reassign_busy_deletes", kOff},
                        {"slab_reassign_running", std::uint64_t{in.slab_reassign_running}},
                        {"slabs_moved", in.slabs_moved},
                    });
  // As memcached: shown only while the crawler is enabled.
  if (in.lru_crawler) {
    s.push_back({"lru_crawler_running", std::uint64_t{in.lru_crawler_running}});
    s.push_back({"lru_crawler_starts", in.lru_crawler_starts});
  }
  s.insert(s.end(), {
                        // memcoro balances the LRU segments inline, as items
                        // move; there is no maintainer loop to count.
                        {"lru_maintainer_juggles", kOff},
                        // Item pages come from one reserved address range,
                        // not malloc: no malloc failure to count.
                        {"malloc_fails", kOff},
                        // No logger and no `watch` in memcoro: memcached's
                        // values with nobody watching.
                        {"log_worker_dropped", kOff},
                        {"log_worker_written", kOff},
                        {"log_watcher_skipped", kOff},
                        {"log_watcher_sent", kOff},
                        {"log_watchers", kOff},
                        // NAPI-id thread selection is memcached's opt-in
                        // (-N); memcoro spreads connections round-robin.
                        {"unexpected_napi_ids", kOff},
                        {"round_robin_fallback", kOff},
                        {"bytes", in.bytes},
                        {"curr_items", in.curr_items},
                        {"total_items", in.total_items},
                        // Unassigned pages go back to the operating system
                        // rather than wait in a pool.
                        {"slab_global_page_pool", kOff},
                        {"expired_unfetched", in.expired_unfetched},
                        {"evicted_unfetched", in.evicted_unfetched},
                        {"evicted_active", in.evicted_active},
                        {"evictions", in.evictions},
                        {"reclaimed", in.reclaimed},
                        {"crawler_reclaimed", in.crawler_reclaimed},
                        {"crawler_items_checked", in.crawler_items_checked},
                        {"lrutail_reflocked", in.lrutail_reflocked},
                        {"moves_to_cold", in.moves_to_cold},
                        {"moves_to_warm", in.moves_to_warm},
                        {"moves_within_lru", in.moves_within_lru},
                        {"direct_reclaims", in.direct_reclaims},
                        // LRU bumps are made inline, never queued, so none
                        // is dropped.
                        {"lru_bumps_dropped", kOff},
                        // memcoro's own, after memcached's fields: binary
                        // protocol clients are refused until it is served.
                        {"rejected_binary_connections", c.rejected_binary_connections},
                    });
  return s;
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
