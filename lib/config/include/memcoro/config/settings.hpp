#pragma once
// Settings: one struct, filled from defaults < environment < JSON file < flags.
// Every setting is declared once (settings.cpp: kDefs) with its JSON name,
// flags, help, memcached `stats settings` name and whether it may change at
// run time; --help, `stats settings` and the JSON reader come from that list.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace memcoro::config {

inline constexpr std::string_view kVersion = "1.6.18-memcoro-0.1.0";

struct Settings {
  std::uint16_t port = 11211;
  // Where to listen, as memcached's -l: "ADDR", "ADDR:PORT", "[IPV6]" or
  // "[IPV6]:PORT", comma-separated; an entry without a port uses `port`.
  std::string listen = "127.0.0.1";
  // memcached's -s: a unix socket instead of TCP, created with unix_mask.
  std::string unix_socket;
  std::uint32_t unix_mask = 0700;
  std::uint32_t conn_limit = 1024;
  std::uint32_t threads = 4;
  std::uint64_t memory_limit = 64ull << 20;  // bytes
  std::uint64_t memory_reserve = 0;          // bytes of address space; 0: automatic
  std::string memory_file;                   // -e: item memory in this file (warm restart)
  std::uint64_t max_item_size = 1ull << 20;  // bytes
  std::uint16_t udp_port = 0;
  std::uint32_t verbosity = 0;
  double growth_factor = 1.25;
  std::uint32_t chunk_size = 48;
  bool evictions = true;                        // -M turns them off
  std::uint32_t idle_timeout = 0;               // seconds; 0 = never
  std::uint32_t drain_timeout = 5;              // seconds a graceful stop waits for clients
  std::uint64_t conn_reply_limit = 4ull << 20;  // reply bytes queued per connection
  std::uint32_t slab_automove = 1;              // 0 off, 1 on, 2 aggressive
  bool lru_crawler = true;
  std::uint32_t hot_lru_pct = 20;    // share of a slab class's items in HOT
  std::uint32_t warm_lru_pct = 40;   // and in WARM
  std::uint16_t admin_port = 11212;  // 0: no admin port
  std::string admin_listen = "127.0.0.1";
  std::string admin_token_file;
  // Host header names the admin port accepts besides loopback ones
  // (normalized: lowercase, IPv6 without brackets).
  std::vector<std::string> admin_allowed_hosts;
  std::uint32_t backlog = 1024;
  char prefix_delimiter = ':';  // -D: `stats detail` counts keys by what precedes it
  // Authentication (README: Authentication): -S, its password file, -Y,
  // and memcached's -B, which they decide unless it is given.
  bool sasl = false;
  std::string sasl_pwdb;
  std::string auth_file;
  std::string protocol = "auto";  // auto | ascii | binary
  std::string config_file;
  bool enable_shutdown = false;  // -A: the `shutdown` command stops the server
  // TLS (README: TLS): memcached's -Z and its ssl_* options. Every TCP
  // listener is TLS unless its `listen` entry starts with "notls:".
  bool ssl_enabled = false;
  std::string ssl_chain_cert;
  std::string ssl_key;  // "": the key is in ssl_chain_cert
  std::string ssl_ca_cert;
  std::string ssl_ciphers;
  std::uint32_t ssl_verify_mode = 0;  // 0 none, 1 request, 2 require, 3 once
  std::uint32_t ssl_min_version = 2;  // 0 TLS 1.0, 1 TLS 1.1, 2 TLS 1.2, 3 TLS 1.3
  bool ssl_session_cache = false;
  bool admin_tls = false;             // the admin port over TLS, with the same certificate
  bool hot_keys_hidden = false;       // hot key reports show hashes, not keys
  std::uint32_t latency_sample = 16;  // time one request in N of each kind (1: all)
};

// How connections are read with these settings, in memcached's words for
// `stats settings` binding_protocol: "auto-negotiate", "ascii" or "binary"
// (-Y makes it ascii, -S binary, unless -B says otherwise; validate()
// refuses the contradictions as memcached does).
std::string_view binding_protocol(const Settings& s);

struct LoadResult {
  // health_check: settings loaded, but --health-check asks to probe a
  // running server instead of starting one.
  enum class Action { run, exit_ok, exit_error, health_check };
  Action action = Action::run;
  // help/version text, or the error; with run, a note for the log (or "").
  std::string message;
};

// argv -> settings: defaults < MEMCORO_LISTEN, MEMCORO_ADMIN_LISTEN,
// MEMCORO_ADMIN_TOKEN_FILE, MEMCORO_ADMIN_ALLOWED_HOSTS, MEMCACHED_SASL_PWDB < the JSON file
// (--config FILE, or MEMCORO_CONFIG when that file exists) < flags.
// Never exits the process.
LoadResult load(int argc, char** argv, Settings& out);

// Applies a JSON document (whole or partial) over `s`. Returns "" or an
// error naming the field.
std::string apply_json(Settings& s, std::string_view json_text);

// Cross-field checks; "" when valid.
std::string validate(const Settings& s);

std::string help_text();

// One entry of the `listen` list, with its port.
struct ListenAddress {
  std::string host;  // an address or a name; IPv6 without brackets
  std::uint16_t port = 0;
  bool own_port = false;  // "ADDR:PORT": also UDP's port there, as in memcached
  bool tls = true;        // with ssl_enabled; "notls:ADDR..." turns it off here
};
// `listen` parsed (listen_list.cpp); "" or the error, naming the entry.
std::string listen_addresses(const Settings& s, std::vector<ListenAddress>& out);

// memcached 1.6.18's `stats settings`, every field in its order: the
// settings under their memcached names, `runtime` values (name, value) for
// fields only the running server knows (oldest, detail_enabled), and
// memcached's values for features memcoro does not have.
// (memcached's name, value) of every setting that declares a `stats
// settings` name, in declaration order.
std::vector<std::pair<std::string_view, std::string>> declared_stats_settings(const Settings& s);

std::vector<std::pair<std::string_view, std::string>> stats_settings(
    const Settings& s, std::span<const std::pair<std::string_view, std::string>> runtime = {});

// A change to settings in force, checked field by field: every field of
// the document must be known, valid, and (if it differs) changeable at run
// time; otherwise nothing is applied.
struct Rejection {
  std::string field;
  std::string reason;
  bool needs_restart = false;  // valid, but only a restart can apply it
};
struct UpdatePlan {
  Settings next;
  std::vector<Rejection> rejected;
  std::vector<std::string> changed;  // fields whose value changes
};
UpdatePlan plan_update(const Settings& current, std::string_view json_text);
// The same for a whole new Settings (a re-read config file).
UpdatePlan plan_replace(const Settings& current, const Settings& candidate);

// {"<field>": {"value": ..., "live": true|false}, ...} as JSON text.
std::string settings_json(const Settings& s);

// "64m", "1024k", "1g", "1048576" -> bytes (plain numbers are bytes).
bool parse_size(std::string_view text, std::uint64_t& out);

}  // namespace memcoro::config
