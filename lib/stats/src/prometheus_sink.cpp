#include "memcoro/stats/prometheus_sink.hpp"

#include "json_value.hpp"

namespace memcoro::stats {
namespace {

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

struct Simple {
  const char* metric;
  const char* stat;
  const char* type;
  const char* help;
};
constexpr Simple kSimple[] = {
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
    {"memcached_max_connections", "max_connections", "gauge", "Maximum number of clients allowed."},
    {"memcached_connections_total", "total_connections", "counter",
     "Total number of connections opened since the server started running."},
    {"memcached_connections_rejected_total", "rejected_connections", "counter",
     "Total number of connections rejected due to the connection limit."},
    {"memcached_read_bytes_total", "bytes_read", "counter",
     "Total number of bytes read by this server from network."},
    {"memcached_written_bytes_total", "bytes_written", "counter",
     "Total number of bytes sent by this server to network."},
    {"memcached_slabs_moved_total", "slabs_moved", "counter", "Total number of slab pages moved."},
};

struct Cmd {
  const char* command;
  const char* status;
  const char* stat;
};
constexpr Cmd kCommands[] = {
    {"get", "hit", "get_hits"},       {"get", "miss", "get_misses"},
    {"set", "hit", "cmd_set"},        {"cas", "hit", "cas_hits"},
    {"cas", "miss", "cas_misses"},    {"cas", "badval", "cas_badval"},
    {"delete", "hit", "delete_hits"}, {"delete", "miss", "delete_misses"},
    {"incr", "hit", "incr_hits"},     {"incr", "miss", "incr_misses"},
    {"decr", "hit", "decr_hits"},     {"decr", "miss", "decr_misses"},
    {"touch", "hit", "touch_hits"},   {"touch", "miss", "touch_misses"},
    {"flush", "hit", "cmd_flush"},
};

struct PerClass {
  const char* metric;
  const char* stat;
  const char* type;
  const char* help;
  bool from_items;  // `stats items`, else `stats slabs`
};
constexpr PerClass kPerClass[] = {
    {"memcached_slab_chunk_size_bytes", "chunk_size", "gauge",
     "Number of bytes allocated to each chunk within this slab class.", false},
    {"memcached_slab_chunks_per_page", "chunks_per_page", "gauge",
     "Number of chunks within a single page for this slab class.", false},
    {"memcached_slab_current_pages", "total_pages", "gauge",
     "Number of pages allocated to this slab class.", false},
    {"memcached_slab_current_chunks", "total_chunks", "gauge",
     "Number of chunks allocated to this slab class.", false},
    {"memcached_slab_chunks_used", "used_chunks", "gauge", "Number of chunks allocated to an item.",
     false},
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
     "Total number of items for this slab class that have triggered an out of memory error.", true},
    {"memcached_slab_items_reclaimed_total", "reclaimed", "counter",
     "Total number of items reclaimed.", true},
    {"memcached_slab_items_crawler_reclaimed_total", "crawler_reclaimed", "counter",
     "Total number of items freed by the LRU Crawler.", true},
    {"memcached_slab_lru_hits_total", "get_hits", "counter", "Number of get_hits to the LRU.",
     false},
};

}  // namespace

struct PrometheusSink::Impl {
  json totals = json::object();  // the general report and `stats slabs`' totals
  json slabs = json::object();   // "<class>": {"name": value}
  json items = json::object();
};

PrometheusSink::PrometheusSink() : impl_(std::make_unique<Impl>()) {}

PrometheusSink::~PrometheusSink() = default;

void PrometheusSink::add(std::string_view name, const Value& value, Label label) {
  switch (label.group) {
    case Group::none: impl_->totals[std::string(name)] = json_of(value); break;
    case Group::slab_class:
      impl_->slabs[std::to_string(label.id)][std::string(name)] = json_of(value);
      break;
    case Group::item_class:
      impl_->items[std::to_string(label.id)][std::string(name)] = json_of(value);
      break;
    case Group::connection: break;  // the exporter has no per-connection family
  }
}

std::string PrometheusSink::text() const {
  const json& g = impl_->totals;
  auto get = [&](const char* name) { return g.contains(name) ? g[name] : json(0); };
  std::string o;
  metric(o, "memcached_up", "gauge", "Could the memcached server be reached.");
  o += "memcached_up 1\n";
  metric(o, "memcached_version", "gauge", "The version of this memcached server.");
  o += "memcached_version{version=\"" +
       (g.contains("version") ? g["version"].get<std::string>() : std::string()) + "\"} 1\n";
  for (const Simple& s : kSimple) {
    metric(o, s.metric, s.type, s.help);
    sample(o, s.metric, "", get(s.stat));
  }
  metric(o, "memcached_malloced_bytes", "gauge",
         "Number of bytes of memory allocated to slab pages.");
  sample(o, "memcached_malloced_bytes", "", get("total_malloced"));

  metric(o, "memcached_commands_total", "counter",
         "Total number of all requests broken down by command (get, set, etc.) and status.");
  for (const Cmd& c : kCommands) {
    sample(o, "memcached_commands_total",
           std::string("command=\"") + c.command + "\",status=\"" + c.status + "\"", get(c.stat));
  }

  for (const PerClass& s : kPerClass) {
    metric(o, s.metric, s.type, s.help);
    const json& src = s.from_items ? impl_->items : impl_->slabs;
    for (const auto& [cls, fields] : src.items()) {
      if (fields.contains(s.stat)) sample(o, s.metric, "slab=\"" + cls + "\"", fields[s.stat]);
    }
  }
  metric(o, "memcached_slab_commands_total", "counter",
         "Total number of all requests broken down by slab class, command and status.");
  for (const auto& [cls, fields] : impl_->slabs.items()) {
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

}  // namespace memcoro::stats
