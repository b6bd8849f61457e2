// memcached's `stats settings`, every field in its order, from the settings
// in force.
#include <cstdio>
#include <iterator>

#include "memcoro/config/settings.hpp"

namespace memcoro::config {

std::vector<std::pair<std::string_view, std::string>> stats_settings(
    const Settings& s, std::span<const std::pair<std::string_view, std::string>> runtime) {
  // memcached 1.6.18's `stats settings`, every field in its order. A field
  // that a setting above declares (its stats_name) shows that setting; a
  // field whose value only the running server knows comes from `runtime`;
  // the rest are fixed, with the reason beside each. "off" marks memcached's
  // value with a feature that memcoro does not have, or has not enabled.
  struct Field {
    std::string_view name;
    std::string_view fixed;  // used when no setting or runtime value names it
  };
  static constexpr Field kFields[] = {
      {"maxbytes", ""},
      {"maxconns", ""},
      {"tcpport", ""},
      {"udpport", ""},
      {"inter", ""},
      {"verbosity", ""},
      {"oldest", "0"},  // runtime: the flush_all marker
      {"evictions", ""},
      {"domain_socket", ""},  // below: the unix socket's path, or NULL
      {"umask", ""},          // below: its mode, in octal
      {"shutdown_command", ""},
      {"growth_factor", ""},
      {"chunk_size", ""},
      {"num_threads", ""},
      {"num_threads_per_udp", ""},  // below: one per worker, as memcached
      {"stat_key_prefix", ""},
      {"detail_enabled", "no"},  // runtime: `stats detail on|off`
      {"reqs_per_event", "20"},  // off: a connection runs its whole batch (no yield)
      {"cas_enabled", "yes"},    // CAS is always on (no -C)
      {"tcp_backlog", ""},
      {"binding_protocol", ""},    // below: what -B, -S and -Y make it
      {"auth_enabled_sasl", ""},   // -S
      {"auth_enabled_ascii", ""},  // -Y: the file, or "no"
      {"item_size_max", ""},
      {"maxconns_fast", "yes"},  // a connection over -c is told and closed at once
      {"hashpower_init", "0"},   // off: the index sizes itself (no -o hashpower)
      {"slab_reassign", "yes"},  // pages always move between classes
      {"slab_automove", ""},
      {"slab_automove_ratio", "0.80"},  // fixed: `slabs automove ratio` is accepted, unused
      {"slab_automove_window", "30"},   // fixed: memcoro paces automove itself
      {"slab_chunk_max", ""},           // below: the largest class holds a whole item
      {"lru_crawler", ""},
      {"lru_crawler_sleep", "100"},      // fixed: `lru_crawler sleep` accepted, unused
      {"lru_crawler_tocrawl", "0"},      // fixed: `lru_crawler tocrawl` accepted, unused
      {"tail_repair_time", "0"},         // off, as memcached's default
      {"flush_enabled", "yes"},          // flush_all cannot be disabled (no -F)
      {"dump_enabled", "yes"},           // cachedump and metadump cannot be disabled
      {"hash_algorithm", "absl_hash"},   // what memcoro's index hashes keys with
      {"lru_maintainer_thread", "yes"},  // the segments are balanced (inline)
      {"lru_segmented", "yes"},          // HOT/WARM/COLD; `lru mode flat` is refused
      {"hot_lru_pct", ""},
      {"warm_lru_pct", ""},
      {"hot_max_factor", "0.20"},   // fixed: `lru tune` factors are accepted, unused
      {"warm_max_factor", "2.00"},  // fixed: as hot_max_factor
      {"temp_lru", "no"},           // off: no TEMP LRU
      {"temporary_ttl", "61"},      // off: memcached's default, used only by temp_lru
      {"idle_timeout", ""},
      {"watcher_logbuf_size", "262144"},  // off: no `watch` (memcached's default)
      {"worker_logbuf_size", "65536"},    // off: no logger (memcached's default)
      {"read_buf_mem_limit", "0"},        // off: no limit on read buffer memory
      {"track_sizes", "yes"},             // `stats sizes` is always tracked
      {"inline_ascii_response", "no"},    // dead in memcached too
      // off: no extstore; memcached's defaults as it shows them without -o ext_path.
      {"ext_item_size", "512"},
      {"ext_item_age", "4294967295"},
      {"ext_low_ttl", "0"},
      {"ext_recache_rate", "2000"},
      {"ext_wbuf_size", "4194304"},
      {"ext_compact_under", "0"},
      {"ext_drop_under", "0"},
      {"ext_max_sleep", "1000000"},
      {"ext_max_frag", "0.80"},
      {"slab_automove_freeratio", "0.010"},
      {"ext_drop_unread", "no"},
      // TLS; below: the paths ("(null)" or "NULL" when unset, as memcached).
      {"ssl_enabled", ""},
      {"ssl_chain_cert", ""},
      {"ssl_key", ""},
      {"ssl_verify_mode", ""},
      {"ssl_keyformat", "1"},  // PEM: the only key format memcoro reads
      {"ssl_ciphers", ""},
      {"ssl_ca_cert", ""},
      {"ssl_wbuf_size", "16384"},  // records of up to 16 KB, as memcached's default
      {"ssl_session_cache", ""},
      {"ssl_kernel_tls", "no"},    // off: no kernel TLS offload
      {"ssl_min_version", ""},     // below: memcached's name for it
      {"num_napi_ids", "(null)"},  // off: no NAPI-id thread selection
      {"memory_file", ""},         // below: -e's file, or (null)
      // memcoro's: the most cache_memlimit can raise maxbytes to.
      {"memory_reserve", ""},
  };
  const auto declared = declared_stats_settings(s);
  std::vector<std::pair<std::string_view, std::string>> out;
  out.reserve(std::size(kFields));
  for (const Field& f : kFields) {
    std::string value(f.fixed);
    for (const auto& [name, v] : declared) {
      if (name == f.name) value = v;
    }
    if (f.name == "num_threads_per_udp") value = std::to_string(s.threads);
    if (f.name == "domain_socket") value = s.unix_socket.empty() ? "NULL" : s.unix_socket;
    if (f.name == "umask") {
      char b[16];
      std::snprintf(b, sizeof b, "%o", static_cast<unsigned>(s.unix_mask));
      value = b;
    }
    if (f.name == "memory_file" && s.memory_file.empty()) value = "(null)";
    if (f.name == "binding_protocol") value = binding_protocol(s);
    if (f.name == "auth_enabled_ascii" && s.auth_file.empty()) value = "no";
    if (f.name == "ssl_chain_cert") value = s.ssl_chain_cert.empty() ? "(null)" : s.ssl_chain_cert;
    if (f.name == "ssl_key") value = s.ssl_key.empty() ? "(null)" : s.ssl_key;
    if (f.name == "ssl_ciphers") value = s.ssl_ciphers.empty() ? "NULL" : s.ssl_ciphers;
    if (f.name == "ssl_ca_cert") value = s.ssl_ca_cert.empty() ? "NULL" : s.ssl_ca_cert;
    if (f.name == "ssl_min_version") {
      static constexpr std::string_view kVersions[] = {"tlsv1.0", "tlsv1.1", "tlsv1.2", "tlsv1.3"};
      value = kVersions[s.ssl_min_version & 3];
    }
    if (f.name == "slab_chunk_max") value = std::to_string((s.max_item_size + 7) / 8 * 8);
    for (const auto& [name, v] : runtime) {
      if (name == f.name) value = v;
    }
    out.emplace_back(f.name, std::move(value));
  }
  return out;
}

}  // namespace memcoro::config
