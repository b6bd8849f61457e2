// `watch` and the lines of memcached's log streams that the commands
// report: fetchers (every lookup, including a write's look at the key),
// mutations (every storage command's outcome) and evictions (from the
// store). Everything here runs only when someone watches (watched()).
#include "memcoro/exec/execute.hpp"
#include "memcoro/protocol/numbers.hpp"

namespace memcoro::exec {
namespace {

log::Found found_of(store::LookupStatus s) {
  switch (s) {
    case store::LookupStatus::hit: return log::Found::found;
    case store::LookupStatus::miss: return log::Found::not_found;
    case store::LookupStatus::expired: return log::Found::expired;
    case store::LookupStatus::flushed: return log::Found::flushed;
  }
  return log::Found::not_found;
}

log::Stored stored_of(store::StoreStatus s) {
  switch (s) {
    case store::StoreStatus::stored: return log::Stored::stored;
    case store::StoreStatus::not_stored: return log::Stored::not_stored;
    case store::StoreStatus::exists: return log::Stored::exists;
    case store::StoreStatus::not_found: return log::Stored::not_found;
    case store::StoreStatus::too_large: return log::Stored::too_large;
    case store::StoreStatus::no_memory: return log::Stored::no_memory;
  }
  return log::Stored::not_stored;
}

log::StoreCmd cmd_of(StoreMode m) {
  switch (m) {
    case StoreMode::set: return log::StoreCmd::set;
    case StoreMode::add: return log::StoreCmd::add;
    case StoreMode::replace: return log::StoreCmd::replace;
    case StoreMode::append: return log::StoreCmd::append;
    case StoreMode::prepend: return log::StoreCmd::prepend;
    case StoreMode::cas: return log::StoreCmd::cas;
  }
  return log::StoreCmd::null;
}

}  // namespace

After run_watch(const protocol::Command& cmd, Context& ctx, std::shared_ptr<log::Watcher>& watcher,
                Output& out) {
  // memcached's order of refusals; noreply (a last word) silences them.
  if (ctx.logger == nullptr || !ctx.wake) {
    reply_line(cmd, "CLIENT_ERROR watch commands not allowed", out);
    return After::keep_open;
  }
  if (!out.empty()) {
    // memcached hands the connection to its logger thread, which cannot
    // send the replies still queued before it.
    reply_line(cmd, "ERROR cannot pipeline other commands before watch", out);
    return After::keep_open;
  }
  const std::uint32_t streams = log::parse_streams(cmd.args);
  if (streams == 0) {
    reply_line(cmd, "ERROR", out);
    return After::keep_open;
  }
  watcher = ctx.logger->add(streams, ctx.wake);
  if (!watcher) {
    reply_line(cmd, "WATCHER_TOO_MANY log watcher limit reached", out);
    return After::keep_open;
  }
  out.append("OK\r\n");
  return After::watch;
}

void log_fetch(std::string_view key, store::LookupStatus status, unsigned cls, std::size_t size,
               Context& ctx) {
  const bool hit = status == store::LookupStatus::hit;
  ctx.logger->item_get(key, found_of(status), hit ? cls : 0, ctx.fd, hit ? size : 0);
}

void log_store(const protocol::Command& cmd, const Written& w,
               const std::optional<store::ItemInfo>& before, Context& ctx) {
  log_store_as(cmd.key, mode_of(cmd.type), cmd.exptime, cmd.data_len, w, before, ctx);
}

void log_store_as(std::string_view key, StoreMode mode, std::int64_t client_exptime,
                  std::size_t data_len, const Written& w,
                  const std::optional<store::ItemInfo>& before, Context& ctx) {
  const bool taken =
      w.status != store::StoreStatus::too_large && w.status != store::StoreStatus::no_memory;
  // memcached looks the key up before it stores (a fetchers line), unless
  // the value was refused before that.
  if (taken && watched(ctx, log::kFetchers)) {
    log_fetch(key, before ? store::LookupStatus::hit : store::LookupStatus::miss,
              before ? before->cls : 0, before ? before->value_len : 0, ctx);
  }
  if (!watched(ctx, log::kMutations)) return;
  const bool whole = mode == StoreMode::append || mode == StoreMode::prepend;
  // The stored item's TTL: an append keeps the old item's.
  std::int64_t exptime = 0;
  if (!taken) {
    exptime = 0;
  } else if (whole) {
    exptime = before ? before->exptime : 0;
  } else if (client_exptime != 0) {
    exptime = ctx.store.to_unix(ctx.store.to_rel_time(client_exptime));
  }
  const std::int64_t now = ctx.store.to_unix(ctx.store.rel_now());
  const auto ttl = static_cast<std::uint32_t>(exptime == 0 ? 0 : exptime - now);
  ctx.logger->item_store(key, stored_of(w.status), cmd_of(mode), ttl, taken ? w.cls : 0, ctx.fd,
                         !taken  ? 0
                         : whole ? w.size
                                 : data_len);
}

void log_removal(std::string_view key, bool found, unsigned cls,
                 const std::optional<store::ItemInfo>& before, Context& ctx) {
  if (!watched(ctx, log::kFetchers)) return;
  log_fetch(key, found ? store::LookupStatus::hit : store::LookupStatus::miss, cls,
            before ? before->value_len : 0, ctx);
}

void log_arithmetic(std::string_view key, const Counted& r,
                    const std::optional<store::ItemInfo>& before, Context& ctx) {
  if (!r.created) {
    log_removal(key, r.status != Counted::Status::not_found, r.cls, before, ctx);
    return;
  }
  // memcached looks twice (the arithmetic, then the add), then adds.
  if (watched(ctx, log::kFetchers)) {
    log_fetch(key, store::LookupStatus::miss, 0, 0, ctx);
    log_fetch(key, store::LookupStatus::miss, 0, 0, ctx);
  }
  if (!watched(ctx, log::kMutations)) return;
  char digits[24];
  const std::size_t size = static_cast<std::size_t>(protocol::format_u64(r.value, digits) - digits);
  const auto ttl = static_cast<std::uint32_t>(r.exptime == 0 ? 0 : r.exptime - r.now);
  ctx.logger->item_store(key, stored_of(store::StoreStatus::stored), cmd_of(StoreMode::add), ttl,
                         r.cls, ctx.fd, size);
}

std::optional<store::ItemInfo> peek_watched(std::string_view key, Context& ctx) {
  if (!watched(ctx, log::Stream(log::kFetchers | log::kMutations))) return std::nullopt;
  return ctx.store.peek(key);
}

void EvictionLog::evicted(const store::Item& it, store::RelTime now) {
  const store::RelTime exp = it.exptime.load(std::memory_order_relaxed);
  const store::RelTime last = it.time.load(std::memory_order_relaxed);
  const std::int64_t ttl = exp == 0 ? -1 : std::int64_t{exp} - std::int64_t{now};
  logger_.eviction(it.key(), it.has(store::kFetched), ttl, std::int64_t{now} - std::int64_t{last},
                   it.cls(), it.value_len);
}

bool StoreRunner::pull_log(Output& out) {
  if (!watcher_) return false;
  std::string& text = out.text();
  return watcher_->take(text);
}

StoreRunner::~StoreRunner() {
  if (watcher_) ctx_.logger->remove(watcher_);
}

}  // namespace memcoro::exec
