// The store's transactional core: lookups (get, touch, remove, access,
// peek), and the building blocks every write is made of (allocate, link,
// update), plus flush_all. The rules of the commands live in exec.
#include <cstring>
#include <utility>
#include <vector>

#include "store_internal.hpp"

namespace memcoro::store {

GetResult Store::get(std::string_view key) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  GetResult r;
  std::lock_guard lock(s.mu);
  const RelTime now = rel_now();
  Item* it = find_locked(s, hk, now, &r.status);
  if (it != nullptr) {
    touch_access_locked(it, now);
    r.cls = it->cls();
    r.segment = it->segment();
    r.item = share(it);
  }
  return r;
}

GetResult Store::get_and_touch(std::string_view key, std::int64_t exptime) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  const RelTime exp = to_rel_time(exptime);
  GetResult r;
  std::lock_guard lock(s.mu);
  const RelTime now = rel_now();
  Item* it = find_locked(s, hk, now, &r.status);
  if (it != nullptr) {
    it->exptime.store(exp, std::memory_order_relaxed);
    touch_access_locked(it, now);
    r.cls = it->cls();
    r.item = share(it);
  }
  return r;
}

Outcome Store::touch(std::string_view key, std::int64_t exptime) {
  GetResult r = get_and_touch(key, exptime);
  return {r.status, r.cls};
}

Outcome Store::remove(std::string_view key) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  Outcome o;
  std::lock_guard lock(s.mu);
  Item* it = find_locked(s, hk, rel_now(), &o.status);
  if (it != nullptr) {
    o.cls = it->cls();
    unlink_locked(s, it);
  }
  return o;
}

GetResult Store::access(std::string_view key, const Vivify* vivify, AccessFn fn) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  GetResult r;
  Item* fresh = nullptr;  // built unlocked when vivify may need it
  for (int pass = 0; pass < 2; ++pass) {
    {
      std::lock_guard lock(s.mu);
      const RelTime now = rel_now();
      Item* it = find_locked(s, hk, now, &r.status);
      if (it == nullptr && fresh != nullptr) {
        fresh->exptime.store(to_rel_time(vivify->exptime), std::memory_order_relaxed);
        link_locked(s, fresh, now);
        if (vivify->cas) fresh->cas.store(*vivify->cas, std::memory_order_relaxed);
        it = std::exchange(fresh, nullptr);
        r.created = true;
        r.status = LookupStatus::hit;
      }
      if (it != nullptr) {
        r.cls = it->cls();
        r.segment = it->segment();
        if (fn(*it, now, r.created)) touch_access_locked(it, now);
        r.item = share(it);
        break;
      }
      if (vivify == nullptr || pass == 1) break;
    }
    // A miss to vivify: build the empty item unlocked, then look again.
    StoreStatus error;
    fresh = allocate_item(key, 0, 0, 0, &error);
    if (fresh == nullptr) break;
  }
  if (fresh != nullptr) adopt(fresh).reset();
  return r;
}

std::optional<ItemInfo> Store::peek(std::string_view key) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  std::lock_guard lock(s.mu);
  LookupStatus why;
  Item* it = find_locked(s, hk, rel_now(), &why);
  if (it == nullptr) return std::nullopt;
  return info_of(it, *this);
}

Store::Allocation Store::allocate(std::string_view key, std::uint32_t flags, RelTime exptime,
                                  std::size_t value_len) {
  Allocation a;
  Item* it = allocate_item(key, flags, exptime, value_len, &a.error);
  if (it != nullptr) a.item = adopt(it);
  return a;
}

Store::Allocation Store::make(std::string_view key, std::uint32_t flags, RelTime exptime,
                              std::string_view value) {
  Allocation a = allocate(key, flags, exptime, value.size());
  if (a.item && !value.empty()) std::memcpy(a.item->value_data(), value.data(), value.size());
  return a;
}

void Store::place_locked(Stripe& s, const HashedKey& key, Item* cur, Item* fresh, RelTime now,
                         OnLinked on_linked, Change& change) {
  if (cur != nullptr) {
    replace_locked(s, key, cur, fresh, now);
  } else {
    link_locked(s, fresh, now);
  }
  on_linked(*fresh);
  change.linked = true;
  change.cls = fresh->cls();
  change.cas = fresh->cas_value();
  change.size = fresh->value_len;
}

Store::Change Store::link(ItemRef fresh, Admit admit, OnLinked on_linked) {
  Item* it = fresh.get();
  const HashedKey hk = hashed(it->key());
  Stripe& s = stripe_for(hk.hash);
  Change change;
  {
    std::lock_guard lock(s.mu);
    const RelTime now = rel_now();
    Item* cur = find_locked(s, hk, now, &change.found);
    if (cur != nullptr) change.cls = cur->cls();
    if (admit(cur, *it, now)) {
      place_locked(s, hk, cur, fresh.release(), now, on_linked, change);
    }
  }
  return change;  // fresh, when not admitted, is freed here, unlocked
}

Store::Change Store::update(std::string_view key, Inspect inspect, Build build,
                            OnLinked on_linked) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  for (;;) {
    Change change;
    ItemRef old;
    {
      std::lock_guard lock(s.mu);
      const RelTime now = rel_now();
      Item* cur = find_locked(s, hk, now, &change.found);
      if (cur != nullptr) change.cls = cur->cls();
      switch (inspect(cur, change.found, now)) {
        case Step::done: return change;
        case Step::unlink: unlink_locked(s, cur); return change;
        case Step::build: break;
      }
      if (cur != nullptr) old = share(cur);
    }
    ItemRef fresh = build(old.get());
    if (!fresh) return change;
    std::lock_guard lock(s.mu);
    const RelTime now = rel_now();
    LookupStatus why;
    Item* cur = find_locked(s, hk, now, &why);
    if (cur != old.get()) continue;  // changed (or appeared) meanwhile: start again
    place_locked(s, hk, cur, fresh.release(), now, on_linked, change);
    return change;
  }
}

void Store::flush_all(std::int64_t delay) {
  const RelTime now = rel_now();
  const RelTime new_oldest = delay > 0 ? to_rel_time(delay) : now;
  // memcached's oldest_live: items last stored or read at or before it are
  // gone once it has passed.
  const RelTime oldest = new_oldest - 1;
  oldest_live_.store(oldest, std::memory_order_release);
  if (oldest > now) return;  // takes effect later, checked on access and by the crawler
  // Immediate: everything stored so far goes now, including items stored
  // this very second (which the time check cannot tell apart), and the
  // memory is freed at once rather than as keys are read again.
  for (std::size_t i = 0; i <= stripe_mask_; ++i) {
    Stripe& s = stripes_[i];
    std::lock_guard lock(s.mu);
    std::vector<Handle> all(s.index.begin(), s.index.end());
    for (Handle h : all) unlink_locked(s, item(h));
  }
}

}  // namespace memcoro::store
