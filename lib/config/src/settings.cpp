#include "memcoro/config/settings.hpp"

#include <charconv>
#include <cstdio>
#include <sstream>

#include "defs.hpp"
#include "host_list.hpp"

namespace memcoro::config {
namespace {

template <typename T>
bool parse_uint(std::string_view t, T& out, std::uint64_t lo, std::uint64_t hi) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || p != t.data() + t.size() || t.empty() || v < lo || v > hi) return false;
  out = static_cast<T>(v);
  return true;
}

std::string range_error(std::string_view name, std::uint64_t lo, std::uint64_t hi) {
  std::ostringstream o;
  o << name << ": expected an integer from " << lo << " to " << hi;
  return o.str();
}

template <typename T>
Def uint_def(std::string_view name, char sf, std::string_view lf, std::string_view arg,
             std::string_view help, std::string_view stats_name, bool live, T Settings::*m,
             std::uint64_t lo, std::uint64_t hi) {
  return Def{
      name,
      sf,
      lf,
      arg,
      help,
      stats_name,
      live,
      [=](Settings& s, std::string_view t) {
        return parse_uint(t, s.*m, lo, hi) ? std::string{} : range_error(name, lo, hi);
      },
      [=](Settings& s, const json& j) {
        if (!j.is_number_unsigned() || j.get<std::uint64_t>() < lo || j.get<std::uint64_t>() > hi) {
          return range_error(name, lo, hi);
        }
        s.*m = static_cast<T>(j.get<std::uint64_t>());
        return std::string{};
      },
      [=](const Settings& s) { return std::to_string(s.*m); }};
}

std::string size_error(std::string_view name, std::uint64_t lo, std::uint64_t hi) {
  std::ostringstream o;
  o << name << ": expected a size (bytes, or with a k/m/g suffix) from " << lo << " to " << hi
    << " bytes";
  return o.str();
}

// A size in bytes (or with a k/m/g suffix) from lo to hi.
Def size_def(std::string_view name, char sf, std::string_view lf, std::string_view help,
             std::string_view stats_name, bool live, std::uint64_t Settings::*m, std::uint64_t lo,
             std::uint64_t hi) {
  return Def{name,
             sf,
             lf,
             "SIZE",
             help,
             stats_name,
             live,
             [=](Settings& s, std::string_view t) {
               std::uint64_t v = 0;
               if (!parse_size(t, v) || v < lo || v > hi) return size_error(name, lo, hi);
               s.*m = v;
               return std::string{};
             },
             [=](Settings& s, const json& j) {
               std::uint64_t v = 0;
               const bool ok = j.is_number_unsigned()
                                   ? (v = j.get<std::uint64_t>(), true)
                                   : (j.is_string() && parse_size(j.get<std::string>(), v));
               if (!ok || v < lo || v > hi) return size_error(name, lo, hi);
               s.*m = v;
               return std::string{};
             },
             [=](const Settings& s) { return std::to_string(s.*m); }};
}

json value_from_show(const std::string& text) {
  if (text == "on" || text == "yes") return true;
  if (text == "off" || text == "no") return false;
  std::uint64_t u = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), u);
  if (ec == std::errc{} && p == text.data() + text.size() && !text.empty()) return u;
  double d = 0;
  auto [p2, ec2] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (ec2 == std::errc{} && p2 == text.data() + text.size() && !text.empty()) return d;
  return text;
}

Def string_def(std::string_view name, std::string_view lf, std::string_view arg,
               std::string_view help, bool live, std::string Settings::*m) {
  return Def{name,
             0,
             lf,
             arg,
             help,
             "",
             live,
             [=](Settings& s, std::string_view t) {
               s.*m = std::string(t);
               return std::string{};
             },
             [=](Settings& s, const json& j) {
               if (!j.is_string()) return std::string(name) + ": expected a string";
               s.*m = j.get<std::string>();
               return std::string{};
             },
             [=](const Settings& s) { return s.*m; },
             [=](const Settings& s) { return json(s.*m); }};
}

}  // namespace

const std::vector<Def>& defs() {
  static const std::vector<Def> kDefs = [] {
    std::vector<Def> d;
    // memcached reads -m with atoi: every positive int of megabytes starts it
    // (it allocates as items are stored), so every one starts memcoro too.
    constexpr std::uint64_t kMinMemory = 1u << 20;
    constexpr std::uint64_t kMaxMemoryMb = 2147483647;
    constexpr std::uint64_t kMaxMemory = kMaxMemoryMb << 20;
    d.push_back(
        Def{"memory_limit", 'm', "memory-limit", "MB",
            "item memory limit in megabytes, or with a k/m/g suffix (default 64)", "maxbytes", true,
            [](Settings& s, std::string_view t) {
              std::uint64_t v = 0;
              bool plain = !t.empty() && t.find_first_not_of("0123456789") == t.npos;
              if (plain ? !parse_uint(t, v, 1, kMaxMemoryMb) : !parse_size(t, v)) {
                return size_error("memory_limit", kMinMemory, kMaxMemory);
              }
              if (plain) v <<= 20;
              if (v < kMinMemory || v > kMaxMemory) {
                return size_error("memory_limit", kMinMemory, kMaxMemory);
              }
              s.memory_limit = v;
              return std::string{};
            },
            [](Settings& s, const json& j) {
              std::uint64_t v = 0;
              if (j.is_number_unsigned()) {
                // Bounded as the flag is: beyond it, << 20 would wrap to a
                // small limit that nobody asked for.
                if (j.get<std::uint64_t>() > kMaxMemoryMb) {
                  return size_error("memory_limit", kMinMemory, kMaxMemory);
                }
                v = j.get<std::uint64_t>() << 20;
              } else if (!j.is_string() || !parse_size(j.get<std::string>(), v)) {
                return std::string{"memory_limit: expected megabytes (number) or a size string"};
              }
              if (v < kMinMemory || v > kMaxMemory) {
                return size_error("memory_limit", kMinMemory, kMaxMemory);
              }
              s.memory_limit = v;
              return std::string{};
            },
            [](const Settings& s) { return std::to_string(s.memory_limit); }});
    d.push_back(uint_def("conn_limit", 'c', "conn-limit", "N",
                         "max simultaneous client connections (default 1024)", "maxconns", true,
                         &Settings::conn_limit, 1, 1000000));
    d.push_back(uint_def("port", 'p', "port", "PORT", "TCP port to listen on (default 11211)",
                         "tcpport", false, &Settings::port, 0, 65535));
    d.push_back(uint_def("udp_port", 'U', "udp-port", "0",
                         "UDP port; only 0 (off) is supported, as in memcached's default",
                         "udpport", false, &Settings::udp_port, 0, 0));
    d.push_back(Def{"listen", 'l', "listen", "ADDR",
                    "interface to listen on (default 127.0.0.1; 0.0.0.0 for all IPv4)", "inter",
                    false,
                    [](Settings& s, std::string_view t) {
                      if (t.empty()) return std::string{"listen: empty address"};
                      s.listen = std::string(t);
                      return std::string{};
                    },
                    [](Settings& s, const json& j) {
                      if (!j.is_string() || j.get<std::string>().empty()) {
                        return std::string{"listen: expected an address string"};
                      }
                      s.listen = j.get<std::string>();
                      return std::string{};
                    },
                    [](const Settings& s) { return s.listen; }});
    d.push_back(Def{"verbosity", 'v', "verbose", "", "log more (repeat, -vv, for more still)",
                    "verbosity", true,
                    [](Settings& s, std::string_view) {
                      if (s.verbosity < 2) ++s.verbosity;
                      return std::string{};
                    },
                    [](Settings& s, const json& j) {
                      if (!j.is_number_unsigned() || j.get<std::uint64_t>() > 2) {
                        return std::string{"verbosity: expected 0, 1 or 2"};
                      }
                      s.verbosity = j.get<std::uint32_t>();
                      return std::string{};
                    },
                    [](const Settings& s) { return std::to_string(s.verbosity); }});
    d.push_back(Def{"evictions", 'M', "disable-evictions", "",
                    "return an error when memory is full instead of evicting items", "evictions",
                    false,
                    [](Settings& s, std::string_view) {
                      s.evictions = false;
                      return std::string{};
                    },
                    [](Settings& s, const json& j) {
                      if (!j.is_boolean()) return std::string{"evictions: expected true or false"};
                      s.evictions = j.get<bool>();
                      return std::string{};
                    },
                    [](const Settings& s) { return std::string(s.evictions ? "on" : "off"); }});
    d.push_back(Def{"growth_factor", 'f', "growth-factor", "FACTOR",
                    "slab chunk size growth factor (default 1.25)", "growth_factor", false,
                    [](Settings& s, std::string_view t) {
                      double v = 0;
                      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
                      if (ec != std::errc{} || p != t.data() + t.size() || !(v > 1.0) || v > 8) {
                        return std::string{"growth_factor: expected a number above 1.0"};
                      }
                      s.growth_factor = v;
                      return std::string{};
                    },
                    [](Settings& s, const json& j) {
                      if (!j.is_number() || !(j.get<double>() > 1.0) || j.get<double>() > 8) {
                        return std::string{"growth_factor: expected a number above 1.0"};
                      }
                      s.growth_factor = j.get<double>();
                      return std::string{};
                    },
                    [](const Settings& s) {
                      char b[32];
                      std::snprintf(b, sizeof b, "%.2f", s.growth_factor);
                      return std::string(b);
                    }});
    d.push_back(uint_def("chunk_size", 'n', "slab-min-size", "BYTES",
                         "minimum space for key + value + flags (default 48)", "chunk_size", false,
                         &Settings::chunk_size, 1, 1 << 20));
    d.push_back(uint_def("threads", 't', "threads", "N", "worker threads (default 4)",
                         "num_threads", false, &Settings::threads, 1, 256));
    d.push_back(uint_def("slab_automove", 0, "slab-automove", "0|1|2",
                         "move slab pages to classes that need them: 0 off, 1 on, 2 eagerly "
                         "(default 1)",
                         "slab_automove", true, &Settings::slab_automove, 0, 2));
    d.push_back(Def{"lru_crawler", 0, "no-lru-crawler", "",
                    "do not reclaim expired items in the background", "lru_crawler", true,
                    [](Settings& s, std::string_view) {
                      s.lru_crawler = false;
                      return std::string{};
                    },
                    [](Settings& s, const json& j) {
                      if (!j.is_boolean())
                        return std::string{"lru_crawler: expected true or false"};
                      s.lru_crawler = j.get<bool>();
                      return std::string{};
                    },
                    [](const Settings& s) { return std::string(s.lru_crawler ? "yes" : "no"); }});
    d.push_back(uint_def("hot_lru_pct", 0, "hot-lru-pct", "PCT",
                         "share of each slab class's items kept in the HOT LRU (default 20)",
                         "hot_lru_pct", true, &Settings::hot_lru_pct, 0, 80));
    d.push_back(uint_def("warm_lru_pct", 0, "warm-lru-pct", "PCT",
                         "share of each slab class's items kept in the WARM LRU (default 40)",
                         "warm_lru_pct", true, &Settings::warm_lru_pct, 0, 80));
    d.push_back(uint_def("backlog", 'b', "listen-backlog", "N", "TCP listen backlog (default 1024)",
                         "tcp_backlog", false, &Settings::backlog, 1, 65535));
    d.push_back(size_def("max_item_size", 'I', "max-item-size",
                         "largest item (key + value + header), with k/m suffix (default 1m)",
                         "item_size_max", false, &Settings::max_item_size, 1024, 1ull << 30));
    d.push_back(Def{"prefix_delimiter", 'D', "prefix-delimiter", "CHAR",
                    "`stats detail` counts keys by the prefix before this character (default :)",
                    "stat_key_prefix", false,
                    [](Settings& s, std::string_view t) {
                      if (t.size() != 1)
                        return std::string{"prefix_delimiter: expected one character"};
                      s.prefix_delimiter = t[0];
                      return std::string{};
                    },
                    [](Settings& s, const json& j) {
                      if (!j.is_string() || j.get<std::string>().size() != 1) {
                        return std::string{"prefix_delimiter: expected a string of one character"};
                      }
                      s.prefix_delimiter = j.get<std::string>()[0];
                      return std::string{};
                    },
                    [](const Settings& s) { return std::string(1, s.prefix_delimiter); },
                    [](const Settings& s) { return json(std::string(1, s.prefix_delimiter)); }});
    d.push_back(uint_def("idle_timeout", 0, "idle-timeout", "SECONDS",
                         "close connections idle this long (default 0: never)", "idle_timeout",
                         true, &Settings::idle_timeout, 0, 86400 * 365));
    d.push_back(uint_def("drain_timeout", 0, "drain-timeout", "SECONDS",
                         "on SIGTERM/SIGINT, answer what clients already sent for at most this "
                         "long before exiting (default 5)",
                         "", true, &Settings::drain_timeout, 0, 3600));
    d.push_back(size_def("conn_reply_limit", 0, "conn-reply-limit",
                         "reply bytes queued for one connection before memcoro stops running its "
                         "requests until the client reads them (default 4m)",
                         "", true, &Settings::conn_reply_limit, 16 << 10, 1ull << 30));
    d.push_back(uint_def("admin_port", 0, "admin-port", "PORT",
                         "HTTP admin port: stats, metrics, config, dashboard (default 11212; 0: "
                         "off)",
                         "", false, &Settings::admin_port, 0, 65535));
    d.push_back(string_def("admin_listen", "admin-listen", "ADDR",
                           "address of the admin port (default 127.0.0.1; any other needs a "
                           "token)",
                           false, &Settings::admin_listen));
    d.push_back(string_def("admin_token_file", "admin-token-file", "FILE",
                           "file holding the bearer token that changes need on the admin port",
                           false, &Settings::admin_token_file));
    // Not live, like admin_listen and admin_token_file: who may talk to the
    // admin port is fixed at start, so no request through it can widen it.
    d.push_back(Def{"admin_allowed_hosts", 0, "admin-allowed-hosts", "HOSTS",
                    "comma-separated host names or addresses the admin port accepts in the "
                    "Host header besides loopback ones (containers, proxies)",
                    "", false,
                    [](Settings& s, std::string_view t) {
                      return parse_host_list(split_commas(t), s.admin_allowed_hosts);
                    },
                    [](Settings& s, const json& j) {
                      const std::string error = "admin_allowed_hosts: expected an array of strings";
                      if (!j.is_array()) return error;
                      std::vector<std::string> items;
                      for (const json& e : j) {
                        if (!e.is_string()) return error;
                        items.push_back(e.get<std::string>());
                      }
                      return parse_host_list(items, s.admin_allowed_hosts);
                    },
                    [](const Settings& s) {
                      std::string out;
                      for (const std::string& h : s.admin_allowed_hosts) {
                        out += (out.empty() ? "" : ",") + h;
                      }
                      return out;
                    },
                    [](const Settings& s) { return json(s.admin_allowed_hosts); }});
    for (Def& def : d) {
      if (!def.value) {
        auto show = def.show;
        def.value = [show](const Settings& s) { return value_from_show(show(s)); };
      }
    }
    return d;
  }();
  return kDefs;
}

bool parse_size(std::string_view t, std::uint64_t& out) {
  if (t.empty()) return false;
  std::uint64_t mult = 1;
  switch (t.back()) {
    case 'k':
    case 'K': mult = 1ull << 10; break;
    case 'm':
    case 'M': mult = 1ull << 20; break;
    case 'g':
    case 'G': mult = 1ull << 30; break;
    default: break;
  }
  if (mult != 1) t.remove_suffix(1);
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc{} || p != t.data() + t.size()) return false;
  if (v > (std::uint64_t{1} << 50) / mult) return false;
  out = v * mult;
  return true;
}

std::string apply_json(Settings& s, std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return "config: not valid JSON";
  if (!doc.is_object()) return "config: expected a JSON object";
  Settings next = s;
  for (auto& [key, value] : doc.items()) {
    const Def* def = nullptr;
    for (const Def& d : defs()) {
      if (d.name == key) def = &d;
    }
    if (def == nullptr) return "config: unknown setting '" + key + "'";
    if (std::string e = def->from_json(next, value); !e.empty()) return "config: " + e;
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
  if (s.max_item_size > s.memory_limit) {
    return "max_item_size (" + std::to_string(s.max_item_size) +
           ") must not exceed memory_limit (" + std::to_string(s.memory_limit) + ")";
  }
  return {};
}

UpdatePlan plan_replace(const Settings& current, const Settings& candidate) {
  UpdatePlan plan;
  plan.next = candidate;
  for (const Def& d : defs()) {
    if (d.value(current) == d.value(candidate)) continue;
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
  for (auto& [key, value] : doc.items()) {
    const Def* def = nullptr;
    for (const Def& d : defs()) {
      if (d.name == key) def = &d;
    }
    if (def == nullptr) {
      plan.rejected.push_back({key, "unknown setting", false});
      continue;
    }
    Settings trial = plan.next;
    if (std::string e = def->from_json(trial, value); !e.empty()) {
      plan.rejected.push_back({key, e, false});
      continue;
    }
    if (def->value(trial) == def->value(current)) continue;  // unchanged: fine
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
    out[std::string(d.name)] = {{"value", nlohmann::ordered_json(d.value(s))}, {"live", d.live}};
  }
  return out.dump(2);
}

std::vector<std::pair<std::string_view, std::string>> declared_stats_settings(const Settings& s) {
  std::vector<std::pair<std::string_view, std::string>> out;
  for (const Def& d : defs()) {
    if (!d.stats_name.empty()) out.emplace_back(d.stats_name, d.show(s));
  }
  return out;
}

}  // namespace memcoro::config
