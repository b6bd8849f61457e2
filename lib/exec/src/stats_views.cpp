// `stats`: the store's reports (slabs, items, sizes) emitted into a sink,
// the server's (general, settings, conns) asked of ServerControl, and the
// text protocol's answer around them.
#include "memcoro/exec/execute.hpp"

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

void stats_slabs(Context& ctx, Sink& sink) {
  const SlabAllocator& slabs = ctx.store.slabs();
  const stats::CounterSnapshot c = counters_of(ctx);
  std::uint64_t active = 0;
  for (unsigned k = 1; k <= slabs.num_classes(); ++k) {
    const SlabAllocator::ClassStats s = slabs.class_stats(k);
    if (s.total_pages == 0) continue;
    ++active;
    const stats::ClassSnapshot& pc = c.classes[k];
    const Label cls{Group::slab_class, k};
    auto add = [&](std::string_view name, std::uint64_t v) { sink.add(name, v, cls); };
    add("chunk_size", s.chunk_size);
    add("chunks_per_page", s.chunks_per_page);
    add("total_pages", s.total_pages);
    add("total_chunks", s.total_chunks);
    add("used_chunks", s.used_chunks);
    add("free_chunks", s.free_chunks);
    add("free_chunks_end", s.free_chunks_end);
    add("get_hits", pc.get_hits);
    add("cmd_set", pc.cmd_set);
    add("delete_hits", pc.delete_hits);
    add("incr_hits", pc.incr_hits);
    add("decr_hits", pc.decr_hits);
    add("cas_hits", pc.cas_hits);
    add("cas_badval", pc.cas_badval);
    add("touch_hits", pc.touch_hits);
  }
  sink.add("active_slabs", active);
  sink.add("total_malloced", std::uint64_t{slabs.malloced()});
}

void stats_items(Context& ctx, Sink& sink) {
  const stats::CounterSnapshot c = counters_of(ctx);
  for (const store::ClassItemStats& s : ctx.store.item_stats()) {
    const stats::ClassSnapshot& pc = c.classes[s.cls];
    const Label cls{Group::item_class, s.cls};
    auto add = [&](std::string_view name, std::uint64_t v) { sink.add(name, v, cls); };
    add("number", s.number);
    add("number_hot", s.number_hot);
    add("number_warm", s.number_warm);
    add("number_cold", s.number_cold);
    add("age_hot", s.age_hot);
    add("age_warm", s.age_warm);
    add("age", s.age);
    add("mem_requested", s.mem_requested);
    add("evicted", s.evicted);
    add("evicted_nonzero", s.evicted_nonzero);
    add("evicted_time", s.evicted_time);
    add("outofmemory", s.outofmemory);
    add("tailrepairs", s.tailrepairs);
    add("reclaimed", s.reclaimed);
    add("expired_unfetched", s.expired_unfetched);
    add("evicted_unfetched", s.evicted_unfetched);
    add("evicted_active", s.evicted_active);
    add("crawler_reclaimed", s.crawler_reclaimed);
    add("crawler_items_checked", s.crawler_items_checked);
    add("lrutail_reflocked", s.lrutail_reflocked);
    add("moves_to_cold", s.moves_to_cold);
    add("moves_to_warm", s.moves_to_warm);
    add("moves_within_lru", s.moves_within_lru);
    add("direct_reclaims", s.direct_reclaims);
    add("hits_to_hot", pc.hits_to_hot);
    add("hits_to_warm", pc.hits_to_warm);
    add("hits_to_cold", pc.hits_to_cold);
    // memcoro has no TEMP LRU (`lru temp_ttl` is refused): memcached's value
    // with temp_lru off.
    add("hits_to_temp", 0);
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
  } else {
    return ctx.control != nullptr && ctx.control->report(args, sink);
  }
  return true;
}

void run_stats(const protocol::Command& cmd, Context& ctx, Output& out) {
  const std::span<const std::string_view> args(cmd.keys);
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
    out.append(on ? "STAT sizes_status enabled\r\n" : "STAT sizes_status disabled\r\n");
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
