// `stats`: the store's reports (slabs, items, sizes) emitted into a sink,
// the server's (general, settings, conns) asked of ServerControl, and the
// text protocol's answer around them.
#include <utility>

#include "memcoro/exec/execute.hpp"
#include "memcoro/stats/latency_views.hpp"

namespace memcoro::exec {
namespace {

using memory::SlabAllocator;
using stats::Group;
using stats::Label;
using stats::Sink;

stats::CounterSnapshot counters_of(Context& ctx) {
  if (ctx.control != nullptr) return ctx.control->counters();
  return ctx.counters.snapshot();
}

// `stats slabs` per class, in memcached's order: the allocator's fields,
// then the commands counted per class.
using ClassStats = SlabAllocator::ClassStats;
constexpr std::pair<std::string_view, std::size_t ClassStats::*> kSlabFields[] = {
    {"chunk_size", &ClassStats::chunk_size},
    {"chunks_per_page", &ClassStats::chunks_per_page},
    {"total_pages", &ClassStats::total_pages},
    {"total_chunks", &ClassStats::total_chunks},
    {"used_chunks", &ClassStats::used_chunks},
    {"free_chunks", &ClassStats::free_chunks},
    {"free_chunks_end", &ClassStats::free_chunks_end},
};
using stats::ClassSnapshot;
constexpr std::pair<std::string_view, std::uint64_t ClassSnapshot::*> kSlabCommands[] = {
    {"get_hits", &ClassSnapshot::get_hits},       {"cmd_set", &ClassSnapshot::cmd_set},
    {"delete_hits", &ClassSnapshot::delete_hits}, {"incr_hits", &ClassSnapshot::incr_hits},
    {"decr_hits", &ClassSnapshot::decr_hits},     {"cas_hits", &ClassSnapshot::cas_hits},
    {"cas_badval", &ClassSnapshot::cas_badval},   {"touch_hits", &ClassSnapshot::touch_hits},
};

// `stats items` per class, in memcached's order: the store's fields, then
// the hits counted per LRU segment.
using store::ClassItemStats;
constexpr std::pair<std::string_view, std::uint64_t ClassItemStats::*> kItemFields[] = {
    {"number", &ClassItemStats::number},
    {"number_hot", &ClassItemStats::number_hot},
    {"number_warm", &ClassItemStats::number_warm},
    {"number_cold", &ClassItemStats::number_cold},
    {"age_hot", &ClassItemStats::age_hot},
    {"age_warm", &ClassItemStats::age_warm},
    {"age", &ClassItemStats::age},
    {"mem_requested", &ClassItemStats::mem_requested},
    {"evicted", &ClassItemStats::evicted},
    {"evicted_nonzero", &ClassItemStats::evicted_nonzero},
    {"evicted_time", &ClassItemStats::evicted_time},
    {"outofmemory", &ClassItemStats::outofmemory},
    {"tailrepairs", &ClassItemStats::tailrepairs},
    {"reclaimed", &ClassItemStats::reclaimed},
    {"expired_unfetched", &ClassItemStats::expired_unfetched},
    {"evicted_unfetched", &ClassItemStats::evicted_unfetched},
    {"evicted_active", &ClassItemStats::evicted_active},
    {"crawler_reclaimed", &ClassItemStats::crawler_reclaimed},
    {"crawler_items_checked", &ClassItemStats::crawler_items_checked},
    {"lrutail_reflocked", &ClassItemStats::lrutail_reflocked},
    {"moves_to_cold", &ClassItemStats::moves_to_cold},
    {"moves_to_warm", &ClassItemStats::moves_to_warm},
    {"moves_within_lru", &ClassItemStats::moves_within_lru},
    {"direct_reclaims", &ClassItemStats::direct_reclaims},
};
constexpr std::pair<std::string_view, std::uint64_t ClassSnapshot::*> kItemHits[] = {
    {"hits_to_hot", &ClassSnapshot::hits_to_hot},
    {"hits_to_warm", &ClassSnapshot::hits_to_warm},
    {"hits_to_cold", &ClassSnapshot::hits_to_cold},
};

void stats_slabs(Context& ctx, Sink& sink) {
  const SlabAllocator& slabs = ctx.store.slabs();
  const stats::CounterSnapshot c = counters_of(ctx);
  std::uint64_t active = 0;
  for (unsigned k = 1; k <= slabs.num_classes(); ++k) {
    const ClassStats s = slabs.class_stats(k);
    if (s.total_pages == 0) continue;
    ++active;
    const Label cls{Group::slab_class, k};
    for (const auto& [name, field] : kSlabFields) sink.add(name, std::uint64_t{s.*field}, cls);
    for (const auto& [name, field] : kSlabCommands) sink.add(name, c.classes[k].*field, cls);
  }
  sink.add("active_slabs", active);
  sink.add("total_malloced", std::uint64_t{slabs.malloced()});
}

void stats_items(Context& ctx, Sink& sink) {
  const stats::CounterSnapshot c = counters_of(ctx);
  for (const ClassItemStats& s : ctx.store.item_stats()) {
    const Label cls{Group::item_class, s.cls};
    for (const auto& [name, field] : kItemFields) sink.add(name, s.*field, cls);
    for (const auto& [name, field] : kItemHits) sink.add(name, c.classes[s.cls].*field, cls);
    // memcoro has no TEMP LRU (`lru temp_ttl` is refused): memcached's value
    // with temp_lru off.
    sink.add("hits_to_temp", std::uint64_t{0}, cls);
  }
}

void stats_sizes(Context& ctx, Sink& sink) {
  if (!ctx.store.sizes_shown()) {
    sink.add("sizes_status", "disabled");
    return;
  }
  for (const auto& [size, count] : ctx.store.size_histogram()) {
    sink.add(std::to_string(size), std::uint64_t{count});
  }
}

// stats detail on|off|dump, as memcached answers them (words after the
// subcommand are ignored, as there).
void stats_detail(std::span<const std::string_view> args, Context& ctx, Output& out) {
  const std::string_view sub = args.size() > 1 ? args[1] : std::string_view{};
  if (ctx.prefixes == nullptr || (sub != "on" && sub != "off" && sub != "dump")) {
    out.append("CLIENT_ERROR usage: stats detail on|off|dump\r\n");
  } else if (sub == "dump") {
    ctx.prefixes->dump(out.text());
  } else {
    ctx.prefixes->set_enabled(sub == "on");
    out.append("OK\r\n");
  }
}

}  // namespace

bool report(std::span<const std::string_view> args, Context& ctx, Sink& sink) {
  if (!args.empty() && args[0] == "slabs") {
    stats_slabs(ctx, sink);
  } else if (!args.empty() && args[0] == "items") {
    stats_items(ctx, sink);
  } else if (!args.empty() && args[0] == "sizes") {
    stats_sizes(ctx, sink);
  } else if (args.size() == 1 && args[0] == "latency") {
    stats::latency_report(latency_of(ctx), sink);
  } else {
    return ctx.control != nullptr && ctx.control->report(args, sink);
  }
  return true;
}

void run_stats(const protocol::Command& cmd, Context& ctx, Output& out) {
  const std::span<const std::string_view> args(cmd.args);
  const std::string_view sub = args.empty() ? std::string_view{} : args[0];
  if (sub == "reset") {
    if (ctx.control != nullptr) ctx.control->reset_stats();
    if (ctx.prefixes != nullptr) ctx.prefixes->clear();
    out.append("RESET\r\n");
  } else if (sub == "detail") {
    stats_detail(args, ctx, out);
  } else if (sub == "sizes_enable" || sub == "sizes_disable") {
    // memcached answers these with one line and no END.
    const bool on = sub == "sizes_enable";
    ctx.store.show_sizes(on);
    stats::TextSink(out.text()).add("sizes_status", on ? "enabled" : "disabled");
  } else if (sub == "cachedump") {
    stats_cachedump(args, ctx, out);
  } else {
    stats::TextSink text(out.text());
    if (report(args, ctx, text)) {
      out.append("END\r\n");
    } else {
      out.append("ERROR\r\n");
    }
  }
}

}  // namespace memcoro::exec
