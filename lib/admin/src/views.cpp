// JSON and Prometheus views of the `stats` text: one source of field names.
#include <charconv>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "memcoro/admin/admin.hpp"

namespace memcoro::admin {
namespace {

using json = nlohmann::ordered_json;

std::vector<std::pair<std::string, std::string>> parse_stats(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    const std::size_t eol = text.find("\r\n");
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 2);
    if (!line.starts_with("STAT ")) continue;
    line.remove_prefix(5);
    const std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    out.emplace_back(std::string(line.substr(0, sp)), std::string(line.substr(sp + 1)));
  }
  return out;
}

json value_of(const std::string& v) {
  std::uint64_t u = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), u);
  if (!v.empty() && ec == std::errc{} && p == v.data() + v.size()) return u;
  std::int64_t i = 0;
  auto [p2, ec2] = std::from_chars(v.data(), v.data() + v.size(), i);
  if (!v.empty() && ec2 == std::errc{} && p2 == v.data() + v.size()) return i;
  double d = 0;
  auto [p3, ec3] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (!v.empty() && ec3 == std::errc{} && p3 == v.data() + v.size()) return d;
  return v;
}

// `stats conns` ("<fd>:<field> <value>"): one object per descriptor, the
// listening socket's included (it has no listen_addr).
json conns_json(std::string_view text) {
  json list = json::array();
  std::string current;
  std::size_t clients = 0;
  for (const auto& [name, value] : parse_stats(text)) {
    const std::size_t colon = name.find(':');
    if (colon == std::string::npos) continue;
    const std::string fd = name.substr(0, colon);
    if (list.empty() || fd != current) {
      current = fd;
      list.push_back({{"fd", value_of(fd)}});
    }
    const std::string field = name.substr(colon + 1);
    if (field == "listen_addr") ++clients;
    list.back()[field] = value_of(value);
  }
  return {{"curr_connections", clients}, {"connections", list}};
}

json to_json(std::string_view text, std::string_view shape) {
  if (shape == "conns") return conns_json(text);
  json out = json::object();
  for (const auto& [name, value] : parse_stats(text)) {
    if (shape == "slabs" || shape == "items") {
      // "1:chunk_size" and "items:1:number" are per class.
      std::string_view n = name;
      if (shape == "items" && n.starts_with("items:")) n.remove_prefix(6);
      const std::size_t colon = n.find(':');
      if (colon != std::string_view::npos) {
        out["classes"][std::string(n.substr(0, colon))][std::string(n.substr(colon + 1))] =
            value_of(value);
        continue;
      }
    }
    out[name] = value_of(value);
  }
  if ((shape == "slabs" || shape == "items") && !out.contains("classes")) {
    out["classes"] = json::object();
  }
  return out;
}

void metric(std::string& o, std::string_view name, std::string_view type, std::string_view help) {
  o += "# HELP ";
  o += name;
  o += ' ';
  o += help;
  o += "\n# TYPE ";
  o += name;
  o += ' ';
  o += type;
  o += '\n';
}

std::string number(const json& v) {
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_number_float()) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v.get<double>());
    return std::string(buf, r.ptr);
  }
  return "0";
}

void sample(std::string& o, std::string_view name, std::string_view labels, const json& v) {
  o += name;
  if (!labels.empty()) {
    o += '{';
    o += labels;
    o += '}';
  }
  o += ' ';
  o += number(v);
  o += '\n';
}

}  // namespace

std::string stats_json(std::string_view stats_text, std::string_view shape) {
  return to_json(stats_text, shape).dump(2);
}

std::string prometheus(std::string_view general_text, std::string_view slabs_text,
                       std::string_view items_text) {
  const json g = to_json(general_text, "general");
  const json slabs = to_json(slabs_text, "slabs");
  const json items = to_json(items_text, "items");
  auto get = [&](const char* name) { return g.contains(name) ? g[name] : json(0); };
  std::string o;
  // Names and labels of the Prometheus project's memcached_exporter.
  metric(o, "memcached_up", "gauge", "Could the memcached server be reached.");
  o += "memcached_up 1\n";
  metric(o, "memcached_version", "gauge", "The version of this memcached server.");
  o += "memcached_version{version=\"" +
       (g.contains("version") ? g["version"].get<std::string>() : std::string()) + "\"} 1\n";
  struct Simple {
    const char* metric;
    const char* stat;
    const char* type;
    const char* help;
  };
  static constexpr Simple kSimple[] = {
      {"memcached_uptime_seconds", "uptime", "counter", "Number of seconds since server start."},
      {"memcached_time_seconds", "time", "gauge", "Current UNIX time according to the server."},
      {"memcached_process_user_cpu_seconds_total", "rusage_user", "counter",
       "Accumulated user time for this process."},
      {"memcached_process_system_cpu_seconds_total", "rusage_system", "counter",
       "Accumulated system time for this process."},
      {"memcached_current_bytes", "bytes", "gauge", "Current number of bytes used to store items."},
      {"memcached_limit_bytes", "limit_maxbytes", "gauge",
       "Number of bytes this server is allowed to use for storage."},
      {"memcached_current_items", "curr_items", "gauge",
       "Current number of items stored by this instance."},
      {"memcached_items_total", "total_items", "counter",
       "Total number of items stored during the life of this instance."},
      {"memcached_items_evicted_total", "evictions", "counter",
       "Total number of valid items removed from cache to free memory for new items."},
      {"memcached_items_reclaimed_total", "reclaimed", "counter",
       "Total number of times an entry was stored using memory from an expired entry."},
      {"memcached_current_connections", "curr_connections", "gauge",
       "Current number of open connections."},
      {"memcached_max_connections", "max_connections", "gauge",
       "Maximum number of clients allowed."},
      {"memcached_connections_total", "total_connections", "counter",
       "Total number of connections opened since the server started running."},
      {"memcached_connections_rejected_total", "rejected_connections", "counter",
       "Total number of connections rejected due to the connection limit."},
      {"memcached_read_bytes_total", "bytes_read", "counter",
       "Total number of bytes read by this server from network."},
      {"memcached_written_bytes_total", "bytes_written", "counter",
       "Total number of bytes sent by this server to network."},
      {"memcached_slabs_moved_total", "slabs_moved", "counter",
       "Total number of slab pages moved."},
  };
  for (const Simple& s : kSimple) {
    metric(o, s.metric, s.type, s.help);
    sample(o, s.metric, "", get(s.stat));
  }
  metric(o, "memcached_malloced_bytes", "gauge",
         "Number of bytes of memory allocated to slab pages.");
  sample(o, "memcached_malloced_bytes", "",
         slabs.contains("total_malloced") ? slabs["total_malloced"] : json(0));

  metric(o, "memcached_commands_total", "counter",
         "Total number of all requests broken down by command (get, set, etc.) and status.");
  struct Cmd {
    const char* command;
    const char* status;
    const char* stat;
  };
  static constexpr Cmd kCommands[] = {
      {"get", "hit", "get_hits"},       {"get", "miss", "get_misses"},
      {"set", "hit", "cmd_set"},        {"cas", "hit", "cas_hits"},
      {"cas", "miss", "cas_misses"},    {"cas", "badval", "cas_badval"},
      {"delete", "hit", "delete_hits"}, {"delete", "miss", "delete_misses"},
      {"incr", "hit", "incr_hits"},     {"incr", "miss", "incr_misses"},
      {"decr", "hit", "decr_hits"},     {"decr", "miss", "decr_misses"},
      {"touch", "hit", "touch_hits"},   {"touch", "miss", "touch_misses"},
      {"flush", "hit", "cmd_flush"},
  };
  for (const Cmd& c : kCommands) {
    sample(o, "memcached_commands_total",
           std::string("command=\"") + c.command + "\",status=\"" + c.status + "\"", get(c.stat));
  }

  // Per slab class.
  struct PerSlab {
    const char* metric;
    const char* stat;
    const char* type;
    const char* help;
    bool from_items;
  };
  static constexpr PerSlab kSlab[] = {
      {"memcached_slab_chunk_size_bytes", "chunk_size", "gauge",
       "Number of bytes allocated to each chunk within this slab class.", false},
      {"memcached_slab_chunks_per_page", "chunks_per_page", "gauge",
       "Number of chunks within a single page for this slab class.", false},
      {"memcached_slab_current_pages", "total_pages", "gauge",
       "Number of pages allocated to this slab class.", false},
      {"memcached_slab_current_chunks", "total_chunks", "gauge",
       "Number of chunks allocated to this slab class.", false},
      {"memcached_slab_chunks_used", "used_chunks", "gauge",
       "Number of chunks allocated to an item.", false},
      {"memcached_slab_chunks_free", "free_chunks", "gauge",
       "Number of chunks not yet allocated items.", false},
      {"memcached_slab_chunks_free_end", "free_chunks_end", "gauge",
       "Number of free chunks at the end of the last allocated page.", false},
      {"memcached_slab_current_items", "number", "gauge",
       "Number of items currently stored in this slab class.", true},
      {"memcached_slab_items_age_seconds", "age", "gauge",
       "Number of seconds the oldest item has been in the slab class.", true},
      {"memcached_slab_mem_requested_bytes", "mem_requested", "gauge",
       "Number of bytes of memory actual items take up within a slab.", true},
      {"memcached_slab_items_evicted_total", "evicted", "counter",
       "Total number of times an item had to be evicted from the LRU before it expired.", true},
      {"memcached_slab_items_evicted_nonzero_total", "evicted_nonzero", "counter",
       "Total number of times an item which had an explicit expire time set had to be evicted from "
       "the LRU before it expired.",
       true},
      {"memcached_slab_items_outofmemory_total", "outofmemory", "counter",
       "Total number of items for this slab class that have triggered an out of memory error.",
       true},
      {"memcached_slab_items_reclaimed_total", "reclaimed", "counter",
       "Total number of items reclaimed.", true},
      {"memcached_slab_items_crawler_reclaimed_total", "crawler_reclaimed", "counter",
       "Total number of items freed by the LRU Crawler.", true},
      {"memcached_slab_lru_hits_total", "get_hits", "counter", "Number of get_hits to the LRU.",
       false},
  };
  for (const PerSlab& s : kSlab) {
    metric(o, s.metric, s.type, s.help);
    const json& src = s.from_items ? items["classes"] : slabs["classes"];
    for (const auto& [cls, fields] : src.items()) {
      if (fields.contains(s.stat)) sample(o, s.metric, "slab=\"" + cls + "\"", fields[s.stat]);
    }
  }
  metric(o, "memcached_slab_commands_total", "counter",
         "Total number of all requests broken down by slab class, command and status.");
  for (const auto& [cls, fields] : slabs["classes"].items()) {
    for (const char* stat : {"cmd_set", "delete_hits", "incr_hits", "decr_hits", "cas_hits",
                             "cas_badval", "touch_hits"}) {
      if (!fields.contains(stat)) continue;
      std::string s(stat);
      std::string command = s == "cmd_set" ? "set" : s.substr(0, s.find('_'));
      std::string status = s == "cas_badval" ? "badval" : "hit";
      sample(o, "memcached_slab_commands_total",
             "slab=\"" + cls + "\",command=\"" + command + "\",status=\"" + status + "\"",
             fields[stat]);
    }
  }
  return o;
}

}  // namespace memcoro::admin
