#include "memcoro/config/settings.hpp"

#include "defs.hpp"

namespace memcoro::config {
namespace {

// memcached reads -m with atoi: every positive int of megabytes starts it
// (it allocates as items are stored), so every one starts memcoro too.
constexpr std::uint64_t kMaxMemory = std::uint64_t{2147483647} << 20;

std::vector<Def> declare() {
  return {
      {.name = "memory_limit",
       .kind = Kind::megabytes,
       .field = &Settings::memory_limit,
       .lo = 1u << 20,
       .hi = kMaxMemory,
       .short_flag = 'm',
       .long_flag = "memory-limit",
       .arg = "MB",
       .help = "item memory limit in megabytes, or with a k/m/g suffix",
       .stats_name = "maxbytes",
       .live = true},
      {.name = "memory_reserve",
       .kind = Kind::megabytes,
       .field = &Settings::memory_reserve,
       .lo = 0,
       .hi = kMaxMemory,
       .long_flag = "memory-reserve",
       .arg = "MB",
       .help = "address space reserved for item memory (costs no memory): the most "
               "cache_memlimit can raise memory_limit to; 0: all that item handles name "
               "(4 TiB with the default chunk sizes), or with memory_file, memory_limit "
               "(the file's size)",
       .stats_name = "memory_reserve"},
      {.name = "memory_file",
       .kind = Kind::text,
       .field = &Settings::memory_file,
       .short_flag = 'e',
       .long_flag = "memory-file",
       .arg = "FILE",
       .help = "keep item memory in FILE (on tmpfs, e.g. /dev/shm) and restore the cache "
               "from it after a graceful stop (SIGTERM, SIGINT, SIGUSR1), as memcached's -e",
       .stats_name = "memory_file"},
      {.name = "conn_limit",
       .kind = Kind::count,
       .field = &Settings::conn_limit,
       .lo = 1,
       .hi = 1000000,
       .short_flag = 'c',
       .long_flag = "conn-limit",
       .arg = "N",
       .help = "max simultaneous client connections",
       .stats_name = "maxconns",
       .live = true},
      {.name = "port",
       .kind = Kind::count,
       .field = &Settings::port,
       .lo = 0,
       .hi = 65535,
       .short_flag = 'p',
       .long_flag = "port",
       .arg = "PORT",
       .help = "TCP port to listen on",
       .stats_name = "tcpport"},
      {.name = "udp_port",
       .kind = Kind::count,
       .field = &Settings::udp_port,
       .lo = 0,
       .hi = 65535,
       .short_flag = 'U',
       .long_flag = "udp-port",
       .arg = "PORT",
       .help = "UDP port on each listen address (memcached's UDP protocol); 0: off, as in "
               "memcached's default",
       .stats_name = "udpport"},
      {.name = "listen",
       .kind = Kind::text,
       .field = &Settings::listen,
       .lo = 1,
       .short_flag = 'l',
       .long_flag = "listen",
       .arg = "ADDR",
       .help = "interfaces to listen on: ADDR or ADDR:PORT, [IPV6] or [IPV6]:PORT, "
               "comma-separated or -l repeated; 0.0.0.0 for all IPv4, [::] for all IPv6",
       .stats_name = "inter",
       .repeats = true},
      {.name = "unix_socket",
       .kind = Kind::text,
       .field = &Settings::unix_socket,
       .short_flag = 's',
       .long_flag = "unix-socket",
       .arg = "PATH",
       .help = "listen on this unix socket instead of TCP (a stale socket file is replaced, "
               "the file is removed at exit)"},
      {.name = "unix_mask",
       .kind = Kind::octal,
       .field = &Settings::unix_mask,
       .hi = 0777,
       .short_flag = 'a',
       .long_flag = "unix-mask",
       .arg = "MASK",
       .help = "permissions of the unix socket file, in octal"},
      {.name = "verbosity",
       .kind = Kind::count,
       .field = &Settings::verbosity,
       .lo = 0,
       .hi = 2,
       .short_flag = 'v',
       .long_flag = "verbose",
       .help = "log more (repeat, -vv, for more still)",
       .stats_name = "verbosity",
       .live = true},
      {.name = "evictions",
       .kind = Kind::toggle,
       .field = &Settings::evictions,
       .short_flag = 'M',
       .long_flag = "disable-evictions",
       .help = "return an error when memory is full instead of evicting items",
       .stats_name = "evictions",
       .words = {"on", "off"}},
      {.name = "growth_factor",
       .kind = Kind::number,
       .field = &Settings::growth_factor,
       .lo = 1,
       .hi = 8,
       .short_flag = 'f',
       .long_flag = "growth-factor",
       .arg = "FACTOR",
       .help = "slab chunk size growth factor",
       .stats_name = "growth_factor"},
      {.name = "chunk_size",
       .kind = Kind::count,
       .field = &Settings::chunk_size,
       .lo = 1,
       .hi = 1 << 20,
       .short_flag = 'n',
       .long_flag = "slab-min-size",
       .arg = "BYTES",
       .help = "minimum space for key + value + flags",
       .stats_name = "chunk_size"},
      {.name = "threads",
       .kind = Kind::count,
       .field = &Settings::threads,
       .lo = 1,
       .hi = 256,
       .short_flag = 't',
       .long_flag = "threads",
       .arg = "N",
       .help = "worker threads",
       .stats_name = "num_threads"},
      {.name = "slab_automove",
       .kind = Kind::count,
       .field = &Settings::slab_automove,
       .lo = 0,
       .hi = 2,
       .long_flag = "slab-automove",
       .arg = "0|1|2",
       .help = "move slab pages to classes that need them: 0 off, 1 on, 2 eagerly",
       .stats_name = "slab_automove",
       .live = true},
      {.name = "lru_crawler",
       .kind = Kind::toggle,
       .field = &Settings::lru_crawler,
       .long_flag = "no-lru-crawler",
       .help = "do not reclaim expired items in the background",
       .stats_name = "lru_crawler",
       .live = true},
      {.name = "hot_lru_pct",
       .kind = Kind::count,
       .field = &Settings::hot_lru_pct,
       .lo = 0,
       .hi = 80,
       .long_flag = "hot-lru-pct",
       .arg = "PCT",
       .help = "share of each slab class's items kept in the HOT LRU",
       .stats_name = "hot_lru_pct",
       .live = true},
      {.name = "warm_lru_pct",
       .kind = Kind::count,
       .field = &Settings::warm_lru_pct,
       .lo = 0,
       .hi = 80,
       .long_flag = "warm-lru-pct",
       .arg = "PCT",
       .help = "share of each slab class's items kept in the WARM LRU",
       .stats_name = "warm_lru_pct",
       .live = true},
      {.name = "backlog",
       .kind = Kind::count,
       .field = &Settings::backlog,
       .lo = 1,
       .hi = 65535,
       .short_flag = 'b',
       .long_flag = "listen-backlog",
       .arg = "N",
       .help = "TCP listen backlog",
       .stats_name = "tcp_backlog"},
      {.name = "max_item_size",
       .kind = Kind::size,
       .field = &Settings::max_item_size,
       .lo = 1024,
       .hi = 1ull << 30,
       .short_flag = 'I',
       .long_flag = "max-item-size",
       .arg = "SIZE",
       .help = "largest item (key + value + header), with k/m suffix",
       .stats_name = "item_size_max"},
      {.name = "prefix_delimiter",
       .kind = Kind::character,
       .field = &Settings::prefix_delimiter,
       .short_flag = 'D',
       .long_flag = "prefix-delimiter",
       .arg = "CHAR",
       .help = "`stats detail` counts keys by the prefix before this character",
       .stats_name = "stat_key_prefix"},
      {.name = "idle_timeout",
       .kind = Kind::count,
       .field = &Settings::idle_timeout,
       .lo = 0,
       .hi = 86400 * 365,
       .long_flag = "idle-timeout",
       .arg = "SECONDS",
       .help = "close connections idle this long; 0: never",
       .stats_name = "idle_timeout",
       .live = true},
      {.name = "drain_timeout",
       .kind = Kind::count,
       .field = &Settings::drain_timeout,
       .lo = 0,
       .hi = 3600,
       .long_flag = "drain-timeout",
       .arg = "SECONDS",
       .help = "on SIGTERM/SIGINT, answer what clients already sent for at most this long "
               "before exiting",
       .live = true},
      {.name = "conn_reply_limit",
       .kind = Kind::size,
       .field = &Settings::conn_reply_limit,
       .lo = 16 << 10,
       .hi = 1ull << 30,
       .long_flag = "conn-reply-limit",
       .arg = "SIZE",
       .help = "reply bytes queued for one connection before memcoro stops running its "
               "requests until the client reads them",
       .live = true},
      {.name = "admin_port",
       .kind = Kind::count,
       .field = &Settings::admin_port,
       .lo = 0,
       .hi = 65535,
       .long_flag = "admin-port",
       .arg = "PORT",
       .help = "HTTP admin port: stats, metrics, config, dashboard; 0: off"},
      {.name = "admin_listen",
       .kind = Kind::text,
       .field = &Settings::admin_listen,
       .long_flag = "admin-listen",
       .arg = "ADDR",
       .help = "address of the admin port; any but loopback needs a token"},
      {.name = "admin_token_file",
       .kind = Kind::text,
       .field = &Settings::admin_token_file,
       .long_flag = "admin-token-file",
       .arg = "FILE",
       .help = "file holding the bearer token that changes need on the admin port"},
      {.name = "protocol",
       .kind = Kind::text,
       .field = &Settings::protocol,
       .short_flag = 'B',
       .long_flag = "protocol",
       .arg = "auto|ascii|binary",
       .help = "the protocol clients speak: auto (by each connection's first byte), ascii "
               "(text and meta) or binary; -S makes it binary and -Y ascii"},
      {.name = "enable_shutdown",
       .kind = Kind::toggle,
       .field = &Settings::enable_shutdown,
       .short_flag = 'A',
       .long_flag = "enable-shutdown",
       .help = "let the text command `shutdown [graceful]` stop the server, as memcached's -A",
       .stats_name = "shutdown_command",
       .flag_on = true},
      {.name = "sasl",
       .kind = Kind::toggle,
       .field = &Settings::sasl,
       .short_flag = 'S',
       .long_flag = "enable-sasl",
       .help = "require SASL PLAIN authentication (binary protocol only), checked against "
               "--sasl-pwdb",
       .stats_name = "auth_enabled_sasl",
       .flag_on = true},
      {.name = "sasl_pwdb",
       .kind = Kind::text,
       .field = &Settings::sasl_pwdb,
       .long_flag = "sasl-pwdb",
       .arg = "FILE",
       .help = "SASL's user:password file (also MEMCACHED_SASL_PWDB); re-read on SIGHUP and "
               "reload"},
      {.name = "auth_file",
       .kind = Kind::text,
       .field = &Settings::auth_file,
       .short_flag = 'Y',
       .long_flag = "auth-file",
       .arg = "FILE",
       .help = "require the ASCII login (text protocol only) with a user:password line of this "
               "file; re-read on SIGHUP and reload",
       .stats_name = "auth_enabled_ascii"},
      {.name = "ssl_enabled",
       .kind = Kind::toggle,
       .field = &Settings::ssl_enabled,
       .short_flag = 'Z',
       .long_flag = "enable-ssl",
       .help = "TLS on every TCP listener but those listed as notls:ADDR:PORT (needs "
               "ssl_chain_cert)",
       .stats_name = "ssl_enabled",
       .flag_on = true},
      {.name = "ssl_chain_cert",
       .kind = Kind::text,
       .field = &Settings::ssl_chain_cert,
       .long_flag = "ssl-chain-cert",
       .arg = "FILE",
       .help = "the server's certificate chain, PEM (also -o ssl_chain_cert=FILE)",
       .live = true},
      {.name = "ssl_key",
       .kind = Kind::text,
       .field = &Settings::ssl_key,
       .long_flag = "ssl-key",
       .arg = "FILE",
       .help = "its private key, PEM, if not in the chain file",
       .live = true},
      {.name = "ssl_ca_cert",
       .kind = Kind::text,
       .field = &Settings::ssl_ca_cert,
       .long_flag = "ssl-ca-cert",
       .arg = "FILE",
       .help = "CA certificates, PEM, that client certificates are verified against",
       .live = true},
      {.name = "ssl_verify_mode",
       .kind = Kind::count,
       .field = &Settings::ssl_verify_mode,
       .lo = 0,
       .hi = 3,
       .long_flag = "ssl-verify-mode",
       .arg = "0-3",
       .help = "client certificates: 0 not asked, 1 requested, 2 required, 3 required once",
       .stats_name = "ssl_verify_mode",
       .live = true},
      {.name = "ssl_min_version",
       .kind = Kind::count,
       .field = &Settings::ssl_min_version,
       .lo = 0,
       .hi = 3,
       .long_flag = "ssl-min-version",
       .arg = "0-3",
       .help = "oldest TLS version accepted: 0 TLS 1.0, 1 TLS 1.1, 2 TLS 1.2, 3 TLS 1.3",
       .live = true},
      {.name = "ssl_ciphers",
       .kind = Kind::text,
       .field = &Settings::ssl_ciphers,
       .long_flag = "ssl-ciphers",
       .arg = "LIST",
       .help = "OpenSSL cipher list for TLS 1.2 and older (\"\": OpenSSL's default)",
       .live = true},
      {.name = "ssl_session_cache",
       .kind = Kind::toggle,
       .field = &Settings::ssl_session_cache,
       .long_flag = "ssl-session-cache",
       .help = "keep TLS sessions so that clients can resume them",
       .stats_name = "ssl_session_cache",
       .live = true,
       .flag_on = true},
      {.name = "hot_keys_hidden",
       .kind = Kind::toggle,
       .field = &Settings::hot_keys_hidden,
       .long_flag = "hot-keys-hidden",
       .help = "`stats hotkeys` and /stats/hotkeys show each key's FNV-1a hash, never the key",
       .live = true,
       .flag_on = true},
      {.name = "latency_sample",
       .kind = Kind::count,
       .field = &Settings::latency_sample,
       .lo = 1,
       .hi = 65536,
       .long_flag = "latency-sample",
       .arg = "N",
       .help = "time one request in N of each kind, at random gaps, for `stats latency` and "
               "the histograms in /metrics (1: every request)",
       .live = true},
      {.name = "admin_tls",
       .kind = Kind::toggle,
       .field = &Settings::admin_tls,
       .long_flag = "admin-tls",
       .help = "serve the admin port over TLS (HTTPS) with ssl_chain_cert and ssl_key",
       .flag_on = true},
      // Not live, like admin_listen and admin_token_file: who may talk to the
      // admin port is fixed at start, so no request through it can widen it.
      {.name = "admin_allowed_hosts",
       .kind = Kind::hosts,
       .field = &Settings::admin_allowed_hosts,
       .long_flag = "admin-allowed-hosts",
       .arg = "HOSTS",
       .help = "comma-separated host names or addresses the admin port accepts in the Host "
               "header besides loopback ones (containers, proxies)"},
  };
}

}  // namespace

const std::vector<Def>& defs() {
  static const std::vector<Def> kDefs = declare();
  return kDefs;
}

const Def* find_def(std::string_view name) {
  for (const Def& d : defs()) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::string apply_json(Settings& s, std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return "config: not valid JSON";
  if (!doc.is_object()) return "config: expected a JSON object";
  Settings next = s;
  for (auto& [key, given] : doc.items()) {
    const Def* def = find_def(key);
    if (def == nullptr) return "config: unknown setting '" + key + "'";
    if (std::string e = set_from_json(*def, next, given); !e.empty()) return "config: " + e;
  }
  s = std::move(next);
  return {};
}

std::string validate(const Settings& s) {
  if (s.admin_port != 0 && s.admin_port == s.port) {
    return "admin_port must differ from port";
  }
  if (s.hot_lru_pct + s.warm_lru_pct > 80) {
    return "hot_lru_pct + warm_lru_pct must not exceed 80 (memcached's rule)";
  }
  if (std::vector<ListenAddress> addrs; !s.unix_socket.empty()) {
    // sockaddr_un's sun_path holds 108 bytes with the terminating NUL.
    if (s.unix_socket.size() > 107) return "unix_socket: the path is longer than 107 bytes";
  } else if (std::string e = listen_addresses(s, addrs); !e.empty()) {
    return e;
  }
  // memcached's refusals, in its words.
  if (s.protocol != "auto" && s.protocol != "ascii" && s.protocol != "binary") {
    return "Invalid value for binding protocol: " + s.protocol +
           " -- should be one of auto, binary, or ascii";
  }
  if (s.sasl && s.protocol == "ascii") {
    return "ERROR: You cannot allow the ASCII protocol while using SASL.";
  }
  if (!s.auth_file.empty() && s.protocol == "binary") {
    return "ERROR: You cannot allow the BINARY protocol while using ascii authentication "
           "tokens.";
  }
  if (s.sasl && s.sasl_pwdb.empty()) {
    return "-S needs a password file of user:password lines: --sasl-pwdb FILE or "
           "MEMCACHED_SASL_PWDB=FILE";
  }
  if (s.udp_port != 0 && s.sasl) {
    return "ERROR: Cannot enable UDP while using binary SASL authentication.";
  }
  if (s.udp_port != 0 && !s.auth_file.empty()) {
    return "Cannot use UDP with ascii authentication enabled (-U 0 to disable)";
  }
  if (s.ssl_enabled && s.ssl_chain_cert.empty()) {
    return "-Z needs the server's certificate: -o ssl_chain_cert=FILE (and ssl_key=FILE)";
  }
  if (s.admin_tls && s.ssl_chain_cert.empty()) {
    return "admin_tls needs the server's certificate: ssl_chain_cert (and ssl_key)";
  }
  if (s.memory_reserve != 0 && s.memory_reserve < s.memory_limit) {
    return "memory_limit (" + std::to_string(s.memory_limit) +
           ") must not exceed memory_reserve (" + std::to_string(s.memory_reserve) + ")";
  }
  if (s.max_item_size > s.memory_limit) {
    return "max_item_size (" + std::to_string(s.max_item_size) +
           ") must not exceed memory_limit (" + std::to_string(s.memory_limit) + ")";
  }
  return {};
}

std::string_view binding_protocol(const Settings& s) {
  if (s.protocol == "ascii" || (s.protocol == "auto" && !s.auth_file.empty())) return "ascii";
  if (s.protocol == "binary" || (s.protocol == "auto" && s.sasl)) return "binary";
  return "auto-negotiate";
}

UpdatePlan plan_replace(const Settings& current, const Settings& candidate) {
  UpdatePlan plan;
  plan.next = candidate;
  for (const Def& d : defs()) {
    if (value(d, current) == value(d, candidate)) continue;
    if (!d.live) {
      plan.rejected.push_back({std::string(d.name), "can only change with a restart", true});
    } else {
      plan.changed.emplace_back(d.name);
    }
  }
  if (std::string e = validate(candidate); !e.empty()) plan.rejected.push_back({"", e, false});
  return plan;
}

UpdatePlan plan_update(const Settings& current, std::string_view text) {
  UpdatePlan plan;
  plan.next = current;
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    plan.rejected.push_back({"", "expected a JSON object", false});
    return plan;
  }
  for (auto& [key, given] : doc.items()) {
    const Def* def = find_def(key);
    if (def == nullptr) {
      plan.rejected.push_back({key, "unknown setting", false});
      continue;
    }
    Settings trial = plan.next;
    if (std::string e = set_from_json(*def, trial, given); !e.empty()) {
      plan.rejected.push_back({key, e, false});
      continue;
    }
    if (value(*def, trial) == value(*def, current)) continue;  // unchanged: fine
    if (!def->live) {
      plan.rejected.push_back({key, "can only change with a restart", true});
      continue;
    }
    plan.next = trial;
    plan.changed.push_back(key);
  }
  if (plan.rejected.empty()) {
    if (std::string e = validate(plan.next); !e.empty()) plan.rejected.push_back({"", e, false});
  }
  return plan;
}

std::string settings_json(const Settings& s) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const Def& d : defs()) {
    out[std::string(d.name)] = {{"value", nlohmann::ordered_json(value(d, s))}, {"live", d.live}};
  }
  return out.dump(2);
}

std::vector<std::pair<std::string_view, std::string>> declared_stats_settings(const Settings& s) {
  std::vector<std::pair<std::string_view, std::string>> out;
  for (const Def& d : defs()) {
    if (!d.stats_name.empty()) out.emplace_back(d.stats_name, show(d, s));
  }
  return out;
}

}  // namespace memcoro::config
