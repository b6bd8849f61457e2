// The meta commands (mg ms md ma me), answered as memcached 1.6 answers them.
#include <absl/strings/escaping.h>

#include <string>

#include "memcoro/exec/changes.hpp"
#include "memcoro/exec/execute.hpp"
#include "memcoro/protocol/numbers.hpp"

namespace memcoro::exec {
namespace {

using protocol::Command;
using protocol::MetaFlags;
using store::RelTime;

void put_u64(std::uint64_t v, Output& out) {
  char buf[24];
  char* end = protocol::format_u64(v, buf);
  out.append(std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

void put_flag(char flag, std::uint64_t v, Output& out) {
  out.append(' ');
  out.append(flag);
  put_u64(v, out);
}

// A key as a reply shows it: as it is, or base64-encoded when it came that
// way (then flag b follows it, as in memcached).
void put_key_text(std::string_view key, bool binary, Output& out) {
  if (!binary) {
    out.append(key);
    return;
  }
  out.append(absl::Base64Escape(absl::string_view(key.data(), key.size())));
}

// The key a reply echoes (k): the request's, or a found item's (memcached's
// mg shows a hit's key as it was stored, whatever the request sent).
struct KeyEcho {
  std::string_view key;
  bool binary = false;
};

KeyEcho request_key(const Command& cmd) {
  return {cmd.key, cmd.meta.base64};
}

// The flags every reply echoes: O (opaque) and k (key); others are ignored.
void put_echo(char flag, const Command& cmd, KeyEcho key, Output& out) {
  if (flag == 'O') {
    out.append(' ');
    out.append(cmd.meta.opaque);
  } else if (flag == 'k') {
    out.append(" k");
    put_key_text(key.key, key.binary, out);
    if (key.binary) out.append(" b");
  }
}

void put_echoes(const Command& cmd, Output& out) {
  for (std::uint8_t i = 0; i < cmd.meta.count; ++i) {
    put_echo(cmd.meta.order[i], cmd, request_key(cmd), out);
  }
}

void put_ttl(RelTime exptime, RelTime now, Output& out) {
  out.append(" t");
  if (exptime == 0) {
    out.append("-1");
  } else {
    put_u64(static_cast<std::uint32_t>(exptime - now), out);
  }
}

// What mg saw of the item and decided, under the item's lock.
struct MetaGetSeen {
  RelTime now = 0;
  RelTime exptime_before = 0, exptime_after = 0;
  RelTime idle = 0;           // l: seconds since the last access before this one
  bool fetched = false;       // h: read before this request
  bool cas_mismatch = false;  // C given and different: nothing was changed
  bool won = false;           // W: this client should recache
  bool stale = false;         // X
  bool token_sent = false;    // Z: another client already won
};

// mg's rules for the item it found (or N created): C, T, the recache and
// stale win tokens (W/X/Z), and whether the read bumps the item (not with u).
bool meta_get_rules(const MetaFlags& m, const store::Store& st, store::Item& it, RelTime now,
                    bool created, MetaGetSeen& seen) {
  seen.now = now;
  seen.exptime_before = created ? 0 : it.exptime.load(std::memory_order_relaxed);
  seen.fetched = it.has(store::kFetched);
  const RelTime t = it.time.load(std::memory_order_relaxed);
  seen.idle = now > t ? now - t : 0;
  if (m.has_cas && !created && it.cas_value() != m.cas) {
    seen.cas_mismatch = true;
    return false;
  }
  if (m.has_ttl) it.exptime.store(st.to_rel_time(m.ttl), std::memory_order_relaxed);
  const RelTime exp = it.exptime.load(std::memory_order_relaxed);
  seen.token_sent = it.has(store::kTokenSent);
  seen.won = created;
  if (m.has_recache && !seen.token_sent && !created && exp != 0 &&
      exp < st.to_rel_time(m.recache_ttl)) {
    seen.won = true;
  }
  seen.stale = it.has(store::kStale);
  if (seen.stale && !seen.token_sent) seen.won = true;
  if (seen.won) it.access.fetch_or(store::kTokenSent, std::memory_order_relaxed);
  seen.exptime_after = exp;
  return !m.no_bump;
}

void meta_get(const Command& cmd, Context& ctx, Output& out) {
  const MetaFlags& m = cmd.meta;
  store::Store::Vivify vivify;
  vivify.exptime = m.vivify_ttl;
  if (m.has_new_cas) vivify.cas = m.new_cas;
  MetaGetSeen seen;
  store::GetResult r = ctx.store.access(
      cmd.key, m.has_vivify ? &vivify : nullptr, [&](store::Item& it, RelTime now, bool created) {
        return meta_get_rules(m, ctx.store, it, now, created, seen);
      });
  if (r.status == store::LookupStatus::expired) ctx.counters.get_expired.add();
  if (r.status == store::LookupStatus::flushed) ctx.counters.get_flushed.add();
  if (watched(ctx, log::kFetchers)) {
    log_fetch(cmd.key, r.status, r.cls, r.item ? r.item->value_len : 0, ctx);
  }
  // As memcached: a hit with T counts as a touch, a miss always as a get.
  if (m.has_ttl && r.item) {
    ctx.counters.cmd_touch.add();
    ctx.counters.touch_hits.add();
    ctx.counters.cls(r.cls).touch_hits.add();
  } else {
    ctx.counters.cmd_get.add();
    (r.item ? ctx.counters.get_hits : ctx.counters.get_misses).add();
    if (r.item) count_class_hit(ctx.counters, r.cls, r.segment);
  }
  if (!r.item) {
    if (cmd.noreply) return;  // q hides a miss
    out.append("EN");
    put_echoes(cmd, out);
    out.append("\r\n");
    return;
  }
  if (seen.cas_mismatch) {
    // mg C (after memcached 1.6.18; memcoro's reading of it): the item is left
    // as it was, and the reply says the CAS did not match, as md and ma do.
    out.append("EX");
    put_echoes(cmd, out);
    out.append("\r\n");
    return;
  }
  const store::Item& it = *r.item.get();
  if (m.value) {
    out.append("VA ");
    put_u64(it.value_len, out);
  } else {
    out.append("HD");
  }
  // t reports the TTL as of its place in the request: after a T or N
  // before it, the new one.
  bool ttl_changed = false;
  for (std::uint8_t i = 0; i < m.count; ++i) {
    switch (m.order[i]) {
      case 'T': ttl_changed = true; break;
      case 'N': ttl_changed = ttl_changed || r.created; break;
      case 's': put_flag('s', it.value_len, out); break;
      case 't':
        put_ttl(ttl_changed ? seen.exptime_after : seen.exptime_before, seen.now, out);
        break;
      case 'c': put_flag('c', it.cas_value(), out); break;
      case 'f': put_flag('f', it.flags, out); break;
      case 'l': put_flag('l', seen.idle, out); break;
      case 'h': put_flag('h', seen.fetched ? 1 : 0, out); break;
      default: put_echo(m.order[i], cmd, {it.key(), it.has(store::kKeyBinary)}, out); break;
    }
  }
  if (seen.token_sent) out.append(" Z");
  if (seen.stale) out.append(" X");
  if (seen.won) out.append(" W");
  out.append("\r\n");
  if (m.value) out.append_value(std::move(r.item));
}

StoreMode meta_mode(char mode) {
  switch (mode) {
    case 'E': return StoreMode::add;
    case 'A': return StoreMode::append;
    case 'P': return StoreMode::prepend;
    case 'R': return StoreMode::replace;
    default: return StoreMode::set;
  }
}

void meta_set(const Command& cmd, Context& ctx, Output& out) {
  const MetaFlags& m = cmd.meta;
  const StoreMode mode = meta_mode(m.mode);
  const std::optional<store::ItemInfo> before = peek_watched(cmd.key, ctx);
  Written w;
  if (cmd.too_large) {
    ctx.store.remove(cmd.key);
    w.status = store::StoreStatus::too_large;
  } else {
    // No stale value may survive a failed store.
    w = write_value(ctx.store, mode, cmd.key, m.client_flags, m.has_ttl ? m.ttl : 0, cmd.data, m,
                    /*drop_on_failure=*/true);
  }
  if (watched(ctx, log::Stream(log::kFetchers | log::kMutations))) {
    log_store_as(cmd.key, mode, m.has_ttl ? m.ttl : 0, cmd.data_len, w, before, ctx);
  }
  const store::StoreStatus s = w.status;
  std::string_view code;
  switch (s) {
    case store::StoreStatus::stored: code = "HD"; break;
    case store::StoreStatus::not_stored: code = "NS"; break;
    case store::StoreStatus::exists: code = "EX"; break;
    case store::StoreStatus::not_found: code = "NF"; break;
    case store::StoreStatus::too_large:
      ctx.counters.store_too_large.add();
      out.append("SERVER_ERROR object too large for cache\r\n");
      return;
    case store::StoreStatus::no_memory:
      ctx.counters.store_no_memory.add();
      out.append("SERVER_ERROR out of memory storing object\r\n");
      return;
  }
  ctx.counters.cmd_set.add();
  ctx.counters.cls(w.cls).cmd_set.add();
  if (m.has_cas && mode != StoreMode::add) {
    if (s == store::StoreStatus::stored) ctx.counters.cas_hits.add();
    if (s == store::StoreStatus::exists) ctx.counters.cas_badval.add();
    if (s == store::StoreStatus::not_found) ctx.counters.cas_misses.add();
  }
  if (s == store::StoreStatus::stored && cmd.noreply) return;  // q hides HD only
  out.append(code);
  for (std::uint8_t i = 0; i < m.count; ++i) {
    switch (m.order[i]) {
      case 'c': put_flag('c', w.cas, out); break;
      case 's':  // after memcached 1.6.18: the stored size (the new one, on append)
        if (s == store::StoreStatus::stored) put_flag('s', w.size, out);
        break;
      default: put_echo(m.order[i], cmd, request_key(cmd), out); break;
    }
  }
  out.append("\r\n");
}

void meta_delete(const Command& cmd, Context& ctx, Output& out) {
  using Status = Deleted::Status;
  const MetaFlags& m = cmd.meta;
  const std::optional<store::ItemInfo> before = peek_watched(cmd.key, ctx);
  const Deleted d = delete_item(ctx.store, cmd.key, m);
  log_removal(cmd.key, d.status != Deleted::Status::not_found, d.cls, before, ctx);
  std::string_view code = "HD";
  if (d.status == Status::deleted) {
    if (!m.invalidate && !m.remove_value) {
      ctx.counters.delete_hits.add();
      ctx.counters.cls(d.cls).delete_hits.add();
    }
    if (cmd.noreply) return;
  } else {
    ctx.counters.delete_misses.add();
    code = d.status == Status::exists ? "EX" : "NF";
  }
  out.append(code);
  put_echoes(cmd, out);
  out.append("\r\n");
}

void meta_arithmetic(const Command& cmd, Context& ctx, Output& out) {
  using Status = Counted::Status;
  const MetaFlags& m = cmd.meta;
  const bool incr = !(m.mode == 'D' || m.mode == '-');
  const std::optional<store::ItemInfo> before = peek_watched(cmd.key, ctx);
  const Counted r = change_number(ctx.store, cmd.key, incr, m.delta, m);
  log_arithmetic(cmd.key, r, before, ctx);
  switch (r.status) {
    case Status::non_numeric:
      out.append("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
      return;
    case Status::no_memory: out.append("SERVER_ERROR out of memory\r\n"); return;
    case Status::not_found:
    case Status::exists:
      if (r.status == Status::not_found) {
        (incr ? ctx.counters.incr_misses : ctx.counters.decr_misses).add();
      }
      out.append(r.status == Status::not_found ? "NF" : "EX");
      put_echoes(cmd, out);
      out.append("\r\n");
      return;
    case Status::ok: break;
  }
  if (!r.created) {  // memcached counts neither a hit nor a miss when N creates
    (incr ? ctx.counters.incr_hits : ctx.counters.decr_hits).add();
    (incr ? ctx.counters.cls(r.cls).incr_hits : ctx.counters.cls(r.cls).decr_hits).add();
  }
  if (cmd.noreply) return;
  char buf[24];
  char* end = protocol::format_u64(r.value, buf);
  const std::string_view number(buf, static_cast<std::size_t>(end - buf));
  if (m.value) {
    out.append("VA ");
    put_u64(number.size(), out);
  } else {
    out.append("HD");
  }
  for (std::uint8_t i = 0; i < m.count; ++i) {
    switch (m.order[i]) {
      case 'c': put_flag('c', r.cas, out); break;
      case 't': put_ttl(r.exptime, r.now, out); break;
      default: put_echo(m.order[i], cmd, request_key(cmd), out); break;
    }
  }
  out.append("\r\n");
  if (m.value) {
    out.append(number);
    out.append("\r\n");
  }
}

void meta_debug(const Command& cmd, Context& ctx, Output& out) {
  ctx.counters.cmd_meta.add();  // memcached 1.6.18's cmd_meta counts only `me`
  const std::optional<store::ItemInfo> info = ctx.store.peek(cmd.key);
  if (!info) {
    out.append("EN\r\n");
    return;
  }
  out.append("ME ");
  put_key_text(info->key, info->key_binary, out);
  const std::int64_t now = ctx.store.to_unix(ctx.store.rel_now());
  out.append(" exp=");
  out.append(std::to_string(info->exptime == 0 ? -1 : info->exptime - now));
  out.append(" la=");
  out.append(std::to_string(now - info->last_access));
  out.append(" cas=");
  put_u64(info->cas, out);
  out.append(info->fetched ? " fetch=yes" : " fetch=no");
  out.append(" cls=");
  put_u64(info->cls, out);
  out.append(" size=");
  put_u64(info->total_size, out);
  out.append("\r\n");
}

}  // namespace

void run_meta(const Command& cmd, Context& ctx, Output& out) {
  switch (cmd.type) {
    case protocol::CommandType::meta_get: meta_get(cmd, ctx, out); break;
    case protocol::CommandType::meta_set: meta_set(cmd, ctx, out); break;
    case protocol::CommandType::meta_delete: meta_delete(cmd, ctx, out); break;
    case protocol::CommandType::meta_arithmetic: meta_arithmetic(cmd, ctx, out); break;
    case protocol::CommandType::meta_debug: meta_debug(cmd, ctx, out); break;
    default: break;
  }
}

}  // namespace memcoro::exec
