#include "memcoro/stats/report.hpp"

#include <initializer_list>

namespace memcoro::stats {

void general_stats(const GeneralInputs& in, Sink& sink) {
  auto add = [&](std::string_view name, const Value& value) { sink.add(name, value); };
  const CounterSnapshot& c = in.counters;
  const StoreCounters& st = in.store;
  // Fields memcoro has no mechanism for carry the value memcached shows with
  // that mechanism off or unused; each says why. Nothing is left out, so
  // tools that parse memcached's `stats` find every field.
  auto off = [&](std::initializer_list<std::string_view> names) {
    for (std::string_view name : names) sink.add(name, std::uint64_t{0});
  };
  add("pid", in.pid);
  add("uptime", in.uptime);
  add("time", in.time);
  add("version", in.version);
  add("libevent", in.event_library);
  add("pointer_size", std::int64_t{8 * sizeof(void*)});
  add("rusage_user", in.rusage_user);
  add("rusage_system", in.rusage_system);
  add("max_connections", in.max_connections);
  add("curr_connections", in.curr_connections);
  add("total_connections", in.total_connections);
  add("rejected_connections", in.rejected_connections);
  add("connection_structures", in.connection_structures);
  // memcached's pooled response objects: memcoro builds replies in each
  // connection's own buffer, with no pool to run out of or count.
  off({"response_obj_oom", "response_obj_count", "response_obj_bytes"});
  // memcached's shared pool of read buffers: memcoro's read buffers belong to
  // their connection and are not pooled or counted here.
  off({"read_buf_count", "read_buf_bytes", "read_buf_bytes_free", "read_buf_oom"});
  // Descriptors held back from -c for listeners and pipes: memcoro reserves
  // none (a connection over -c is refused, as with maxconns_fast).
  off({"reserved_fds"});
#define MEMCORO_X(name, help) add(#name, c.name);
  MEMCORO_COMMAND_COUNTERS(MEMCORO_X)
#undef MEMCORO_X
  // As memcached: shown only while an idle timeout is set.
  if (in.idle_timeout != 0) add("idle_kicks", c.idle_kicks);
  if (in.udp_port != 0) add("udp_dropped", c.udp_dropped);
  add("bytes_read", c.bytes_read);
  add("bytes_written", c.bytes_written);
  add("limit_maxbytes", in.limit_maxbytes);
  add("accepting_conns", std::uint64_t{in.accepting_conns});
  // memcoro never stops listening when connections run out (it refuses the
  // extra one, as memcached's maxconns_fast): memcached's values when that
  // never happens.
  off({"listen_disabled_num", "time_in_listen_disabled_us"});
  add("threads", in.threads);
  // memcached yields a connection after reqs_per_event requests; a memcoro
  // connection runs its whole batch.
  off({"conn_yields"});
  add("hash_power_level", st.hash_power_level);
  add("hash_bytes", st.hash_bytes);
  // The index grows under its stripe's lock, never in the background, so it
  // is never seen expanding.
  off({"hash_is_expanding"});
  add("slab_reassign_rescues", st.slab_reassign_rescues);
  // Chunked items (larger than the slab page) do not exist in memcoro: none
  // to rescue.
  off({"slab_reassign_chunk_rescues"});
  add("slab_reassign_evictions_nomem", st.slab_reassign_evictions);
  // The mover takes free chunks of a moving page without a separate reclaim
  // step.
  off({"slab_reassign_inline_reclaim"});
  add("slab_reassign_busy_items", st.slab_reassign_busy_items);
  // A deleted item leaves the page at once: never busy.
  off({"slab_reassign_busy_deletes"});
  add("slab_reassign_running", std::uint64_t{st.slab_reassign_running});
  add("slabs_moved", st.slabs_moved);
  // As memcached: shown only while the crawler is enabled.
  if (in.lru_crawler) {
    add("lru_crawler_running", std::uint64_t{st.lru_crawler_running});
    add("lru_crawler_starts", st.lru_crawler_starts);
  }
  // memcoro balances the LRU segments inline, as items move; there is no
  // maintainer loop to count.
  off({"lru_maintainer_juggles"});
  // Item pages come from one reserved address range, not malloc: no malloc
  // failure to count.
  off({"malloc_fails"});
  // memcoro formats a line on the worker and hands it straight to the
  // watchers' buffers: there is no per-worker buffer to drop from.
  off({"log_worker_dropped"});
  add("log_worker_written", in.log_worker_written);
  add("log_watcher_skipped", in.log_watcher_skipped);
  add("log_watcher_sent", in.log_watcher_sent);
  add("log_watchers", in.log_watchers);
  if (in.tls) {
    add("ssl_handshake_errors", in.ssl_handshake_errors);
    add("time_since_server_cert_refresh", in.time_since_server_cert_refresh);
  }
  // NAPI-id thread selection is memcached's opt-in (-N); memcoro spreads
  // connections round-robin.
  off({"unexpected_napi_ids", "round_robin_fallback"});
  add("bytes", st.bytes);
  add("curr_items", st.curr_items);
  add("total_items", st.total_items);
  // Unassigned pages go back to the operating system rather than wait in a
  // pool.
  off({"slab_global_page_pool"});
  add("expired_unfetched", st.expired_unfetched);
  add("evicted_unfetched", st.evicted_unfetched);
  add("evicted_active", st.evicted_active);
  add("evictions", st.evictions);
  add("reclaimed", st.reclaimed);
  add("crawler_reclaimed", st.crawler_reclaimed);
  add("crawler_items_checked", st.crawler_items_checked);
  add("lrutail_reflocked", st.lrutail_reflocked);
  add("moves_to_cold", st.moves_to_cold);
  add("moves_to_warm", st.moves_to_warm);
  add("moves_within_lru", st.moves_within_lru);
  add("direct_reclaims", st.direct_reclaims);
  // LRU bumps are made inline, never queued, so none is dropped.
  off({"lru_bumps_dropped"});
}

}  // namespace memcoro::stats
