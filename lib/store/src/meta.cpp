#include <charconv>
#include <cstring>

#include "store_internal.hpp"

namespace memcoro::store {

Item* Store::make_item(std::string_view key, std::uint32_t flags, RelTime exptime,
                       std::string_view value, StoreStatus* error) {
  Item* it = allocate(key, flags, exptime, value.size(), error);
  if (it != nullptr && !value.empty()) std::memcpy(it->value_data(), value.data(), value.size());
  return it;
}

MetaGetResult Store::meta_get(std::string_view key, const MetaGetOptions& opts) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  MetaGetResult r;
  Item* fresh = nullptr;  // built unlocked when N may need it
  for (int pass = 0; pass < 2; ++pass) {
    {
      std::lock_guard lock(s.mu);
      const RelTime now = rel_now();
      r.now = now;
      Item* it = find_locked(s, hk, now, &r.status);
      if (it == nullptr && opts.vivify && fresh != nullptr) {
        fresh->exptime.store(to_rel_time(opts.vivify_ttl), std::memory_order_relaxed);
        link_locked(s, fresh, now);
        if (opts.has_new_cas) fresh->cas.store(opts.new_cas, std::memory_order_relaxed);
        it = fresh;
        fresh = nullptr;
        r.created = true;
        r.status = LookupStatus::hit;
      }
      if (it != nullptr) {
        r.cls = it->cls;
        r.segment = it->lru.load(std::memory_order_relaxed);
        r.exptime_before = r.created ? 0 : it->exptime.load(std::memory_order_relaxed);
        r.fetched = it->has(kFetched);
        const RelTime t = it->time.load(std::memory_order_relaxed);
        r.idle = now > t ? now - t : 0;
        if (opts.has_cas && !r.created && it->cas_value() != opts.cas) {
          r.cas_mismatch = true;
          r.item = share(it);
          break;
        }
        if (opts.touch) it->exptime.store(to_rel_time(opts.ttl), std::memory_order_relaxed);
        const RelTime exp = it->exptime.load(std::memory_order_relaxed);
        r.token_sent = it->has(kTokenSent);
        r.won = r.created;
        if (opts.recache && !r.token_sent && !r.created && exp != 0 &&
            exp < to_rel_time(opts.recache_ttl)) {
          r.won = true;
        }
        r.stale = it->has(kStale);
        if (r.stale && !r.token_sent) r.won = true;
        if (r.won) it->access.fetch_or(kTokenSent, std::memory_order_relaxed);
        if (!opts.no_bump) touch_access_locked(it, now);
        r.exptime_after = exp;
        r.item = share(it);
        break;
      }
      if (!opts.vivify || pass == 1) break;
    }
    // A miss with N: build the empty item unlocked, then look again.
    StoreStatus error;
    fresh = make_item(key, 0, 0, {}, &error);
    if (fresh == nullptr) break;
  }
  if (fresh != nullptr) adopt(fresh).reset();
  return r;
}

StoreStatus Store::meta_store(std::string_view key, std::uint32_t flags, std::int64_t exptime,
                              std::string_view value, const MetaSetOptions& given,
                              std::uint64_t* cas_out, Outcome* outcome, std::uint32_t* size_out) {
  MetaSetOptions opts = given;
  // memcached: a CAS turns set and replace into cas.
  if (opts.has_cas && (opts.mode == StoreMode::set || opts.mode == StoreMode::replace)) {
    opts.mode = StoreMode::cas;
  }
  const bool append = opts.mode == StoreMode::append;
  if (!append && opts.mode != StoreMode::prepend) {
    StoreStatus error;
    ItemRef pending = begin_store(key, flags, exptime, value.size(), &error);
    if (!pending) {
      remove(key);  // no stale value may survive a failed store
      return error;
    }
    if (!value.empty()) std::memcpy(pending->value_data(), value.data(), value.size());
    return finish_store(opts, std::move(pending), cas_out, outcome, size_out);
  }
  // Append/prepend: the new value depends on the old one. Read the old item
  // under a reference, build the new one unlocked, and link it only if the
  // old one is still current; otherwise start again. N creates a missing item.
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  Outcome local;
  Outcome& out = outcome != nullptr ? *outcome : local;
  for (;;) {
    ItemRef old;
    {
      std::lock_guard lock(s.mu);
      if (Item* it = find_locked(s, hk, rel_now(), &out.status)) old = share(it);
      if (!old && !opts.vivify) return StoreStatus::not_stored;
      if (old && opts.has_cas && old->cas_value() != opts.cas) return StoreStatus::exists;
    }
    StoreStatus error;
    Item* it;
    if (old) {
      const std::size_t new_len = std::size_t{old->value_len} + value.size();
      // memcached: an append that would outgrow the item size limit is
      // NOT_STORED (the value alone fitting, it was taken in).
      if (!item_size_ok(key.size(), new_len)) return StoreStatus::not_stored;
      it = allocate(key, old->flags, old->exptime.load(std::memory_order_relaxed), new_len, &error);
      if (it == nullptr) return error;
      char* dst = it->value_data();
      std::memcpy(dst, append ? old->value().data() : value.data(),
                  append ? old->value_len : value.size());
      std::memcpy(dst + (append ? old->value_len : value.size()),
                  append ? value.data() : old->value().data(),
                  append ? value.size() : old->value_len);
    } else {
      it = make_item(key, flags, to_rel_time(opts.vivify_ttl), value, &error);
      if (it == nullptr) {
        remove(key);
        return error;
      }
    }
    std::lock_guard lock(s.mu);
    const RelTime now = rel_now();
    LookupStatus why;
    Item* cur = find_locked(s, hk, now, &why);
    if (cur != nullptr) out.cls = cur->cls;
    if (cur != old.get()) {
      adopt(it).reset();  // changed (or appeared) meanwhile
      continue;
    }
    if (cur != nullptr) {
      replace_locked(s, hk, cur, it, now);
    } else {
      link_locked(s, it, now);
    }
    if (opts.has_new_cas) it->cas.store(opts.new_cas, std::memory_order_relaxed);
    out.cls = it->cls;
    if (cas_out != nullptr) *cas_out = it->cas_value();
    if (size_out != nullptr) *size_out = it->value_len;
    return StoreStatus::stored;
  }
}

MetaDeleteStatus Store::meta_delete(std::string_view key, const MetaDeleteOptions& opts,
                                    Outcome* outcome) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  Outcome local;
  Outcome& out = outcome != nullptr ? *outcome : local;
  ItemRef old;
  for (;;) {
    {
      std::lock_guard lock(s.mu);
      const RelTime now = rel_now();
      Item* it = find_locked(s, hk, now, &out.status);
      if (it == nullptr) return MetaDeleteStatus::not_found;
      out.cls = it->cls;
      if (opts.has_cas && it->cas_value() != opts.cas) return MetaDeleteStatus::exists;
      if (opts.invalidate) {
        // Stale, not gone: the next reader wins the right to recache.
        if (opts.has_ttl) it->exptime.store(to_rel_time(opts.ttl), std::memory_order_relaxed);
        it->access.fetch_or(kStale, std::memory_order_relaxed);
        it->access.fetch_and(static_cast<std::uint8_t>(~kTokenSent), std::memory_order_relaxed);
        it->cas.store(opts.has_new_cas ? opts.new_cas : next_cas(), std::memory_order_relaxed);
        return MetaDeleteStatus::deleted;
      }
      if (!opts.remove_value) {
        unlink_locked(s, it);
        return MetaDeleteStatus::deleted;
      }
      if (old && it == old.get()) {
        return MetaDeleteStatus::deleted;  // handled below with the new item
      }
      old = share(it);
    }
    // x: replace the item with an empty one that keeps its key, flags and TTL.
    StoreStatus error;
    Item* fresh =
        make_item(key, old->flags, old->exptime.load(std::memory_order_relaxed), {}, &error);
    if (fresh == nullptr) return MetaDeleteStatus::not_found;
    std::lock_guard lock(s.mu);
    const RelTime now = rel_now();
    LookupStatus why;
    Item* cur = find_locked(s, hk, now, &why);
    if (cur != old.get()) {
      adopt(fresh).reset();
      old.reset();
      continue;
    }
    replace_locked(s, hk, cur, fresh, now);
    if (opts.has_new_cas) fresh->cas.store(opts.new_cas, std::memory_order_relaxed);
    return MetaDeleteStatus::deleted;
  }
}

MetaDeltaResult Store::meta_delta(std::string_view key, const MetaDeltaOptions& opts) {
  using Status = MetaDeltaResult::Status;
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  MetaDeltaResult r;
  for (;;) {
    ItemRef old;
    char buf[24];
    std::size_t len = 0;
    {
      std::lock_guard lock(s.mu);
      const RelTime now = rel_now();
      r.now = now;
      LookupStatus why;
      Item* it = find_locked(s, hk, now, &why);
      if (it == nullptr) {
        if (!opts.vivify) {
          r.status = Status::not_found;
          return r;
        }
      } else {
        r.cls = it->cls;
        if (opts.has_cas && it->cas_value() != opts.cas) {
          r.status = Status::exists;
          return r;
        }
        std::uint64_t value = 0;
        if (!apply_delta(it, opts.incr, opts.delta, value, buf, len)) {
          r.status = Status::non_numeric;
          return r;
        }
        r.value = value;
        r.status = Status::ok;
        if (rewrite_number_in_place(it, buf, len)) {
          it->cas.store(opts.has_new_cas ? opts.new_cas : next_cas(), std::memory_order_relaxed);
          if (opts.has_ttl) it->exptime.store(to_rel_time(opts.ttl), std::memory_order_relaxed);
          r.cas = it->cas_value();
          r.exptime = it->exptime.load(std::memory_order_relaxed);
          return r;
        }
        old = share(it);
      }
    }
    // A new item: the result of the change, or N's initial value on a miss.
    const bool vivify = !old;
    if (vivify) {
      len = static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, opts.initial).ptr - buf);
      r.value = opts.initial;
    }
    StoreStatus error;
    Item* fresh = make_item(
        key, vivify ? 0 : old->flags,
        vivify ? to_rel_time(opts.vivify_ttl) : old->exptime.load(std::memory_order_relaxed),
        std::string_view(buf, len), &error);
    if (fresh == nullptr) {
      r.status = Status::no_memory;
      return r;
    }
    std::lock_guard lock(s.mu);
    const RelTime now = rel_now();
    LookupStatus why;
    Item* cur = find_locked(s, hk, now, &why);
    if (cur != old.get()) {
      adopt(fresh).reset();  // changed meanwhile: start again
      continue;
    }
    if (cur != nullptr) {
      replace_locked(s, hk, cur, fresh, now);
    } else {
      link_locked(s, fresh, now);
    }
    if (opts.has_new_cas) fresh->cas.store(opts.new_cas, std::memory_order_relaxed);
    if (opts.has_ttl && !vivify) {
      fresh->exptime.store(to_rel_time(opts.ttl), std::memory_order_relaxed);
    }
    r.status = Status::ok;
    r.created = vivify;
    r.cls = fresh->cls;
    r.cas = fresh->cas_value();
    r.exptime = fresh->exptime.load(std::memory_order_relaxed);
    return r;
  }
}

}  // namespace memcoro::store
