#include "memcoro/exec/execute.hpp"

#include "memcoro/exec/changes.hpp"
#include "memcoro/protocol/binary_parser.hpp"
#include "memcoro/protocol/numbers.hpp"
#include "memcoro/stats/ticks.hpp"

namespace memcoro::exec {
namespace {

using protocol::Command;
using protocol::CommandType;
using store::LookupStatus;
using store::StoreStatus;

void count_lookup(LookupStatus s, stats::ThreadCounters& c) {
  if (s == LookupStatus::expired) c.get_expired.add();
  if (s == LookupStatus::flushed) c.get_flushed.add();
}

void append_u64(std::uint64_t v, Output& out) {
  char buf[24];
  char* end = protocol::format_u64(v, buf);
  out.append(std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

// False when it stopped at ctx.reply_limit before the last key.
bool get_command(const Command& cmd, Context& ctx, Output& out) {
  const bool touch = cmd.type == CommandType::gat || cmd.type == CommandType::gats;
  const bool with_cas = cmd.type == CommandType::gets || cmd.type == CommandType::gats;
  std::size_t pos = ctx.next_key;
  for (;;) {
    const std::size_t at = pos;
    const std::string_view key = protocol::next_key(cmd.key_list, pos);
    if (key.empty()) break;
    if (out.size() >= ctx.reply_limit) {
      ctx.next_key = at;
      return false;
    }
    store::GetResult r = touch ? ctx.store.get_and_touch(key, cmd.exptime) : ctx.store.get(key);
    count_get(key, r, touch, ctx);
    if (!r.item) continue;
    const store::Item& it = *r.item.get();
    out.append("VALUE ");
    out.append(it.key());
    out.append(' ');
    append_u64(it.flags, out);
    out.append(' ');
    append_u64(it.value_len, out);
    if (with_cas) {
      out.append(' ');
      append_u64(it.cas_value(), out);
    }
    out.append("\r\n");
    out.append_value(std::move(r.item));
  }
  ctx.next_key = 0;
  out.append("END\r\n");
  return true;
}

}  // namespace

void count_get(std::string_view key, const store::GetResult& r, bool touch, Context& ctx) {
  if (touch) {
    ctx.counters.cmd_touch.add();
    (r.item ? ctx.counters.touch_hits : ctx.counters.touch_misses).add();
    if (r.item) ctx.counters.cls(r.cls).touch_hits.add();
  } else {
    ctx.counters.cmd_get.add();
    (r.item ? ctx.counters.get_hits : ctx.counters.get_misses).add();
    if (r.item) count_class_hit(ctx.counters, r.cls, r.segment);
  }
  count_lookup(r.status, ctx.counters);
  if (ctx.prefixes != nullptr && ctx.prefixes->enabled()) {
    ctx.prefixes->record_get(key, static_cast<bool>(r.item));
  }
  if (watched(ctx, log::kFetchers)) {
    log_fetch(key, r.status, r.cls, r.item ? r.item->value_len : 0, ctx);
  }
}

StoreMode mode_of(CommandType type) {
  switch (type) {
    case CommandType::add: return StoreMode::add;
    case CommandType::replace: return StoreMode::replace;
    case CommandType::append: return StoreMode::append;
    case CommandType::prepend: return StoreMode::prepend;
    case CommandType::cas: return StoreMode::cas;
    default: return StoreMode::set;
  }
}

bool drops_on_failure(const Command& cmd) {
  // memcached's binary set drops the old value also when it carried a CAS.
  if (cmd.binary) return (cmd.bin.opcode & 0x0f) == protocol::binary::set;
  return mode_of(cmd.type) == StoreMode::set;
}

protocol::MetaFlags store_flags(const Command& cmd) {
  protocol::MetaFlags m;
  if (cmd.type == CommandType::cas || (cmd.binary && cmd.bin.cas != 0)) {
    m.has_cas = true;
    m.cas = cmd.cas_unique;
  }
  return m;
}

void count_store(const Command& cmd, StoreStatus s, std::uint8_t cls, Context& ctx) {
  stats::ThreadCounters::Class& per_class = ctx.counters.cls(cls);
  // memcached counts every storage command of the text protocol, stored or not.
  if (ctx.prefixes != nullptr && ctx.prefixes->enabled()) ctx.prefixes->record_set(cmd.key);
  // memcached counts a set once the value was taken in, not when it was refused.
  if (s != StoreStatus::too_large && s != StoreStatus::no_memory) {
    ctx.counters.cmd_set.add();
    per_class.cmd_set.add();
  }
  switch (s) {
    case StoreStatus::stored:
      if (mode_of(cmd.type) == StoreMode::cas) {
        ctx.counters.cas_hits.add();
        per_class.cas_hits.add();
      }
      break;
    case StoreStatus::not_stored: break;
    case StoreStatus::exists:
      ctx.counters.cas_badval.add();
      per_class.cas_badval.add();
      break;
    case StoreStatus::not_found: ctx.counters.cas_misses.add(); break;
    case StoreStatus::too_large: ctx.counters.store_too_large.add(); break;
    case StoreStatus::no_memory: ctx.counters.store_no_memory.add(); break;
  }
}

namespace {

// The reply and counters of a text storage command, whichever way it was stored.
void reply_store(const Command& cmd, StoreStatus s, std::uint8_t cls, Context& ctx, Output& out) {
  count_store(cmd, s, cls, ctx);
  switch (s) {
    case StoreStatus::stored: reply_line(cmd, "STORED", out); break;
    case StoreStatus::not_stored: reply_line(cmd, "NOT_STORED", out); break;
    case StoreStatus::exists: reply_line(cmd, "EXISTS", out); break;
    case StoreStatus::not_found: reply_line(cmd, "NOT_FOUND", out); break;
    case StoreStatus::too_large:
      reply_line(cmd, "SERVER_ERROR object too large for cache", out);
      break;
    case StoreStatus::no_memory:
      reply_line(cmd, "SERVER_ERROR out of memory storing object", out);
      break;
  }
}

void store_command(const Command& cmd, Context& ctx, Output& out) {
  const StoreMode mode = mode_of(cmd.type);
  if (cmd.too_large) {
    // The block was too large to buffer; a failed set must not leave the
    // old value behind (memcached drops it too).
    if (drops_on_failure(cmd)) ctx.store.remove(cmd.key);
    if (watched(ctx, log::kMutations)) {
      log_store(cmd, Written{StoreStatus::too_large}, std::nullopt, ctx);
    }
    reply_store(cmd, StoreStatus::too_large, 0, ctx, out);
    return;
  }
  const std::optional<store::ItemInfo> before = peek_watched(cmd.key, ctx);
  // No stale value may survive a failed set.
  const Written w = write_value(ctx.store, mode, cmd.key, cmd.flags, cmd.exptime, cmd.data,
                                store_flags(cmd), drops_on_failure(cmd));
  if (watched(ctx, log::Stream(log::kFetchers | log::kMutations))) log_store(cmd, w, before, ctx);
  reply_store(cmd, w.status, w.cls, ctx, out);
}

void delta_command(const Command& cmd, Context& ctx, Output& out) {
  using Status = Counted::Status;
  const bool incr = cmd.type == CommandType::incr;
  const std::optional<store::ItemInfo> before = peek_watched(cmd.key, ctx);
  const Counted r = change_number(ctx.store, cmd.key, incr, cmd.delta, protocol::MetaFlags{});
  log_arithmetic(cmd.key, r, before, ctx);
  switch (r.status) {
    case Status::ok:
      (incr ? ctx.counters.incr_hits : ctx.counters.decr_hits).add();
      (incr ? ctx.counters.cls(r.cls).incr_hits : ctx.counters.cls(r.cls).decr_hits).add();
      if (!cmd.noreply) {
        append_u64(r.value, out);
        out.append("\r\n");
      }
      break;
    case Status::not_found:
    case Status::exists:  // (no CAS given: never)
      (incr ? ctx.counters.incr_misses : ctx.counters.decr_misses).add();
      reply_line(cmd, "NOT_FOUND", out);
      break;
    case Status::non_numeric:
      reply_line(cmd, "CLIENT_ERROR cannot increment or decrement non-numeric value", out);
      break;
    case Status::no_memory: reply_line(cmd, "SERVER_ERROR out of memory", out); break;
  }
}

}  // namespace

void StoreRunner::refuse(std::string_view error, Output& out) {
  write_error(error, out);
}

After StoreRunner::run(const Command& cmd, Output& out) {
  const RequestTimer timer(cmd, ctx_);
  sample_hot_keys(cmd, ctx_);
  if (cmd.binary) return run_binary(cmd, ctx_, session_, out);
  if (cmd.type == CommandType::watch) return run_watch(cmd, ctx_, watcher_, out);
  if (cmd.type == CommandType::ascii_login) {
    run_ascii_login(cmd, ctx_, session_, out);
    return After::keep_open;
  }
  return execute(cmd, ctx_, out);
}

Runner::Value StoreRunner::begin_value(const Command& cmd, Output& out) {
  if (!protocol::is_storage(cmd.type) || cmd.type == CommandType::append ||
      cmd.type == CommandType::prepend || cmd.too_large) {
    return {};
  }
  store::Store::Allocation a =
      ctx_.store.allocate(cmd.key, cmd.flags, ctx_.store.to_rel_time(cmd.exptime), cmd.data_len);
  if (!a.item) {
    if (drops_on_failure(cmd)) ctx_.store.remove(cmd.key);
    if (!cmd.binary && watched(ctx_, log::kMutations)) {
      log_store(cmd, Written{a.error}, std::nullopt, ctx_);
    }
    if (cmd.binary) {
      answer_binary_store(cmd, Written{a.error}, ctx_, out);
      return {Value::refused, {}};
    }
    reply_store(cmd, a.error, 0, ctx_, out);
    return {Value::refused, {}};
  }
  pending_ = std::move(a.item);
  char* data = pending_.value_line_data();
  if (cmd.binary) {
    // A binary value has no "\r\n"; the item keeps one for text gets.
    data[cmd.data_len] = '\r';
    data[cmd.data_len + 1] = '\n';
    return {Value::in_place, std::span<char>(data, cmd.data_len)};
  }
  return {Value::in_place, std::span<char>(data, cmd.data_len + 2)};
}

void StoreRunner::finish_value(const Command& cmd, bool well_formed, Output& out) {
  const RequestTimer timer(cmd, ctx_);
  if (!well_formed) {
    pending_.reset();
    if (!cmd.noreply) write_error("CLIENT_ERROR bad data chunk", out);
    return;
  }
  const std::optional<store::ItemInfo> before = peek_watched(cmd.key, ctx_);
  const Written w =
      link_value(ctx_.store, mode_of(cmd.type), std::move(pending_), store_flags(cmd));
  if (watched(ctx_, log::Stream(log::kFetchers | log::kMutations))) {
    log_store(cmd, w, before, ctx_);
  }
  if (cmd.binary) {
    answer_binary_store(cmd, w, ctx_, out);
  } else {
    reply_store(cmd, w.status, w.cls, ctx_, out);
  }
}

void count_class_hit(stats::ThreadCounters& c, unsigned cls, store::Segment seg) {
  stats::ThreadCounters::Class& k = c.cls(cls);
  k.get_hits.add();
  switch (seg) {
    case store::Segment::hot: k.hits_to_hot.add(); break;
    case store::Segment::warm: k.hits_to_warm.add(); break;
    case store::Segment::cold: k.hits_to_cold.add(); break;
    case store::Segment::none: break;  // unlinked meanwhile: no segment to count
  }
}

void reply_line(const Command& cmd, std::string_view line, Output& out) {
  if (cmd.noreply) return;
  out.append(line);
  out.append("\r\n");
}

void write_error(std::string_view text, Output& out) {
  out.append(text);
  out.append("\r\n");
}

After execute(const Command& cmd, Context& ctx, Output& out) {
  switch (cmd.type) {
    case CommandType::get:
    case CommandType::gets:
    case CommandType::gat:
    case CommandType::gats:
      if (!get_command(cmd, ctx, out)) return After::more;
      break;
    case CommandType::set:
    case CommandType::add:
    case CommandType::replace:
    case CommandType::append:
    case CommandType::prepend:
    case CommandType::cas: store_command(cmd, ctx, out); break;
    case CommandType::touch: {
      ctx.counters.cmd_touch.add();
      const store::Outcome o = ctx.store.touch(cmd.key, cmd.exptime);
      count_lookup(o.status, ctx.counters);
      if (watched(ctx, log::kFetchers)) {
        const std::optional<store::ItemInfo> now = peek_watched(cmd.key, ctx);
        log_fetch(cmd.key, o.status, o.cls, now ? now->value_len : 0, ctx);
      }
      if (o.status == LookupStatus::hit) {
        ctx.counters.touch_hits.add();
        ctx.counters.cls(o.cls).touch_hits.add();
        reply_line(cmd, "TOUCHED", out);
      } else {
        ctx.counters.touch_misses.add();
        reply_line(cmd, "NOT_FOUND", out);
      }
      break;
    }
    case CommandType::del: {
      if (ctx.prefixes != nullptr && ctx.prefixes->enabled()) ctx.prefixes->record_delete(cmd.key);
      const std::optional<store::ItemInfo> before = peek_watched(cmd.key, ctx);
      const store::Outcome o = ctx.store.remove(cmd.key);
      if (watched(ctx, log::kFetchers)) {
        log_fetch(cmd.key, o.status, o.cls, before ? before->value_len : 0, ctx);
      }
      if (o.status == LookupStatus::hit) {
        ctx.counters.delete_hits.add();
        ctx.counters.cls(o.cls).delete_hits.add();
        reply_line(cmd, "DELETED", out);
      } else {
        ctx.counters.delete_misses.add();
        reply_line(cmd, "NOT_FOUND", out);
      }
      break;
    }
    case CommandType::incr:
    case CommandType::decr: delta_command(cmd, ctx, out); break;
    case CommandType::flush_all:
      ctx.counters.cmd_flush.add();
      ctx.store.flush_all(cmd.has_delay ? cmd.delay : 0);
      reply_line(cmd, "OK", out);
      break;
    case CommandType::version:
      out.append("VERSION ");
      out.append(ctx.control != nullptr ? ctx.control->version() : "memcoro");
      out.append("\r\n");
      break;
    case CommandType::verbosity:
      if (ctx.control != nullptr) ctx.control->set_verbosity(cmd.level);
      reply_line(cmd, "OK", out);
      break;
    case CommandType::quit: return After::close;
    case CommandType::shutdown: {
      // memcached's order: enabled at all, then the mode; a stop that
      // begins answers nothing and closes this connection.
      const bool graceful = cmd.args.size() == 1 && cmd.args[0] == "graceful";
      if (ctx.control == nullptr || !ctx.control->shutdown_enabled()) {
        out.append("ERROR: shutdown not enabled\r\n");
        break;
      }
      if (!cmd.args.empty() && !graceful) {
        out.append("CLIENT_ERROR invalid shutdown mode\r\n");
        break;
      }
      ctx.control->shutdown(graceful);
      return After::close;
    }
    case CommandType::refresh_certs: {
      const std::string error =
          ctx.control != nullptr ? ctx.control->refresh_certs() : "Error TLS not enabled";
      out.append(error.empty() ? std::string_view("OK\r\n") : std::string_view(error));
      if (!error.empty()) out.append("\r\n");
      break;
    }
    case CommandType::meta_noop: out.append("MN\r\n"); break;
    // A connection's runner turns it into a watcher (StoreRunner::run);
    // here there is none to turn.
    case CommandType::watch: reply_line(cmd, "CLIENT_ERROR watch commands not allowed", out); break;
    case CommandType::stats: run_stats(cmd, ctx, out); break;
    case CommandType::meta_get:
    case CommandType::meta_set:
    case CommandType::meta_delete:
    case CommandType::meta_arithmetic:
    case CommandType::meta_debug: run_meta(cmd, ctx, out); break;
    case CommandType::slabs:
    case CommandType::cache_memlimit:
    case CommandType::lru_crawler:
    case CommandType::lru: run_maintenance(cmd, ctx, out); break;
    // Never text commands: StoreRunner sends them to run_binary() and
    // run_ascii_login(), which know the connection's Session.
    case CommandType::sasl_list_mechs:
    case CommandType::sasl_auth:
    case CommandType::sasl_step:
    case CommandType::ascii_login: write_error("ERROR", out); break;
  }
  return After::keep_open;
}

}  // namespace memcoro::exec
