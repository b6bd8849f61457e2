// memcached's maintenance commands (`slabs`, `lru`, `lru_crawler`, `cache_memlimit`)
// and item listings (`stats cachedump`, `lru_crawler metadump`), in its words and formats.
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "memcoro/exec/execute.hpp"
#include "memcoro/protocol/numbers.hpp"

namespace memcoro::exec {
namespace {

using memory::SlabAllocator;
using protocol::Command;

// The settings these commands change go through the server when there is
// one (see ServerControl), else straight to the store.
bool set_memory_limit(Context& ctx, std::size_t bytes) {
  return ctx.control != nullptr ? ctx.control->set_memory_limit(bytes)
                                : ctx.store.set_memory_limit(bytes);
}
void set_automove(Context& ctx, unsigned level) {
  if (ctx.control != nullptr) {
    ctx.control->set_automove(level);
  } else {
    ctx.store.set_automove(level);
  }
}
void set_lru_crawler(Context& ctx, bool on) {
  if (ctx.control != nullptr) {
    ctx.control->set_lru_crawler(on);
  } else {
    ctx.store.set_lru_crawler(on);
  }
}
void set_lru_segments(Context& ctx, unsigned hot_pct, unsigned warm_pct) {
  if (ctx.control != nullptr) {
    ctx.control->set_lru_segments(hot_pct, warm_pct);
  } else {
    ctx.store.set_lru_segments(hot_pct, warm_pct);
  }
}

std::string uri_encode(std::string_view key) {
  std::string out;
  char buf[4];
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

void metadump(std::string_view which, Context& ctx, Output& out) {
  std::vector<unsigned> classes;
  if (which != "all") {
    std::size_t at = 0;
    while (at <= which.size()) {
      const std::size_t comma = std::min(which.find(',', at), which.size());
      auto id = protocol::parse_u32(which.substr(at, comma - at));
      if (!id || *id < 1 || *id > ctx.store.slabs().num_classes()) {
        out.append("BADCLASS invalid class id\r\n");
        return;
      }
      classes.push_back(*id);
      at = comma + 1;
    }
  }
  std::string& o = out.text();
  char buf[160];
  for (const store::ItemInfo& i : ctx.store.all_items(classes)) {
    std::snprintf(buf, sizeof buf, " exp=%lld la=%lld cas=%llu fetch=%s cls=%u size=%zu\n",
                  static_cast<long long>(i.exptime == 0 ? -1 : i.exptime),
                  static_cast<long long>(i.last_access), static_cast<unsigned long long>(i.cas),
                  i.fetched ? "yes" : "no", i.cls, i.total_size);
    o += "key=";
    o += uri_encode(i.key);
    o += buf;
  }
  o += "END\r\n";
}

void slabs_command(const Command& cmd, Context& ctx, Output& out) {
  const std::size_t ntokens = cmd.args.size() + 2;
  if (ntokens == 5 && cmd.args[0] == "reassign") {
    auto src = protocol::parse_i32(cmd.args[1]);
    auto dst = protocol::parse_i32(cmd.args[2]);
    if (!src || !dst) {
      out.append("CLIENT_ERROR bad command line format\r\n");
      return;
    }
    const unsigned max = ctx.store.slabs().num_classes();
    // src -1: any class with a page to spare (memcached's "pick any").
    if ((*src < 1 && *src != -1) || *dst < 1 || *src > static_cast<std::int64_t>(max) ||
        static_cast<unsigned>(*dst) > max) {
      out.append("BADCLASS invalid src or dst class id\r\n");
      return;
    }
    const auto status =
        *src == -1 ? ctx.store.reassign_any(static_cast<unsigned>(*dst))
                   : ctx.store.reassign(static_cast<unsigned>(*src), static_cast<unsigned>(*dst));
    switch (status) {
      case SlabAllocator::MoveStatus::ok: out.append("OK\r\n"); break;
      case SlabAllocator::MoveStatus::busy:
        out.append("BUSY currently processing reassign request\r\n");
        break;
      case SlabAllocator::MoveStatus::bad_class:
        out.append("BADCLASS invalid src or dst class id\r\n");
        break;
      case SlabAllocator::MoveStatus::no_spare:
        out.append("NOSPARE source class has no spare pages\r\n");
        break;
      case SlabAllocator::MoveStatus::same:
        out.append("SAME src and dst class are identical\r\n");
        break;
    }
    return;
  }
  if (ntokens >= 4 && cmd.args[0] == "automove") {
    if (cmd.args[1] == "ratio") {
      // Accepted for compatibility; memcoro's ratio is fixed at 0.8.
      if (ntokens < 5) {
        reply_line(cmd, "ERROR", out);
        return;
      }
      reply_line(cmd, "OK", out);
      return;
    }
    auto level = protocol::parse_u32(cmd.args[1]);
    if (!level) {
      reply_line(cmd, "CLIENT_ERROR bad command line format", out);
      return;
    }
    if (*level > 2) {
      reply_line(cmd, "ERROR", out);
      return;
    }
    set_automove(ctx, *level);
    reply_line(cmd, "OK", out);
    return;
  }
  out.append("ERROR\r\n");
}

void cache_memlimit(const Command& cmd, Context& ctx, Output& out) {
  auto mb = protocol::parse_u32(cmd.args[0]);
  if (!mb) {
    reply_line(cmd, "ERROR", out);
  } else if (*mb < 8) {
    reply_line(cmd, "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m", out);
  } else if (*mb > 1000000000) {
    reply_line(cmd, "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes", out);
  } else if (std::size_t{*mb} << 20 < ctx.store.config().max_item_size ||
             !set_memory_limit(ctx, std::size_t{*mb} << 20)) {
    reply_line(cmd, "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust", out);
  } else {
    reply_line(cmd, "OK", out);
  }
}

void lru_crawler(const Command& cmd, Context& ctx, Output& out) {
  const std::size_t ntokens = cmd.args.size() + 2;
  const std::string_view sub = cmd.args.empty() ? std::string_view{} : cmd.args[0];
  if (ntokens == 4 && sub == "crawl") {
    if (!ctx.store.lru_crawler()) {
      out.append("CLIENT_ERROR lru crawler disabled\r\n");
      return;
    }
    ctx.store.crawl_all();
    out.append("OK\r\n");
  } else if (ntokens == 4 && sub == "metadump") {
    if (!ctx.store.lru_crawler()) {
      out.append("CLIENT_ERROR lru crawler disabled\r\n");
      return;
    }
    metadump(cmd.args[1], ctx, out);
  } else if (ntokens == 4 && (sub == "tocrawl" || sub == "sleep")) {
    auto v = protocol::parse_u32(cmd.args[1]);
    if (!v) {
      out.append("CLIENT_ERROR bad command line format\r\n");
    } else if (sub == "sleep" && *v > 1000000) {
      out.append("CLIENT_ERROR sleep must be one second or less\r\n");
    } else {
      out.append("OK\r\n");  // accepted; memcoro paces its crawler itself
    }
  } else if (ntokens == 3 && (sub == "enable" || sub == "disable")) {
    set_lru_crawler(ctx, sub == "enable");
    out.append("OK\r\n");
  } else {
    out.append("ERROR\r\n");
  }
}

}  // namespace

void stats_cachedump(std::span<const std::string_view> args, Context& ctx, Output& out) {
  if (args.size() < 3) {
    out.append("CLIENT_ERROR bad command line\r\n");
    return;
  }
  auto id = protocol::parse_u32(args[1]);
  auto limit = protocol::parse_u32(args[2]);
  if (!id || !limit) {
    out.append("CLIENT_ERROR bad command line format\r\n");
    return;
  }
  if (*id >= SlabAllocator::kMaxClasses + 1) {
    out.append("CLIENT_ERROR Illegal slab id\r\n");
    return;
  }
  std::string& o = out.text();
  // memcached caps a dump at 2 MB.
  const std::size_t cap = o.size() + (2u << 20);
  char buf[64];
  for (const store::ItemInfo& i : ctx.store.class_items(*id, *limit)) {
    std::snprintf(buf, sizeof buf, " [%u b; %lld s]\r\n", i.value_len,
                  static_cast<long long>(i.exptime));
    if (o.size() + 5 + i.key.size() + std::strlen(buf) > cap) break;
    o += "ITEM ";
    o += i.key;
    o += buf;
  }
  o += "END\r\n";
}

// lru tune <hot pct> <warm pct> <hot max factor> <warm max factor>: the
// share of each class's items in HOT and WARM, as memcached's. The two age
// factors are checked and accepted, but memcoro sizes the segments by item
// count alone. memcoro has only the segmented LRU and no temporary LRU, so
// `lru mode flat` and `lru temp_ttl` are refused (ERROR) rather than
// pretended.
void lru_command(const Command& cmd, Context& ctx, Output& out) {
  const std::size_t ntokens = cmd.args.size() + 2;
  const std::string_view sub = cmd.args.empty() ? std::string_view{} : cmd.args[0];
  auto factor = [](std::string_view t) -> std::optional<double> {
    double v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc{} || p != t.data() + t.size()) return std::nullopt;
    return v;
  };
  // Words past the ones used are ignored, as memcached ignores them.
  if (ntokens >= 7 && sub == "tune") {
    auto hot = protocol::parse_u32(cmd.args[1]);
    auto warm = protocol::parse_u32(cmd.args[2]);
    auto hot_factor = factor(cmd.args[3]);
    auto warm_factor = factor(cmd.args[4]);
    if (!hot || !warm || !hot_factor || !warm_factor) {
      out.append("ERROR\r\n");
    } else if (*hot + std::uint64_t{*warm} > 80) {
      out.append("ERROR hot and warm pcts must not exceed 80\r\n");
    } else if (*hot_factor <= 0 || *warm_factor <= 0) {
      out.append("ERROR hot/warm age factors must be greater than 0\r\n");
    } else {
      set_lru_segments(ctx, *hot, *warm);
      out.append("OK\r\n");
    }
  } else if (ntokens >= 4 && sub == "mode" && cmd.args[1] == "segmented") {
    out.append("OK\r\n");
  } else {
    out.append("ERROR\r\n");
  }
}

void run_maintenance(const Command& cmd, Context& ctx, Output& out) {
  switch (cmd.type) {
    case protocol::CommandType::slabs: slabs_command(cmd, ctx, out); break;
    case protocol::CommandType::cache_memlimit: cache_memlimit(cmd, ctx, out); break;
    case protocol::CommandType::lru_crawler: lru_crawler(cmd, ctx, out); break;
    case protocol::CommandType::lru: lru_command(cmd, ctx, out); break;
    default: break;
  }
}

}  // namespace memcoro::exec
