#include "store_internal.hpp"

namespace memcoro::store {

bool Store::is_live(const Item* it, RelTime now, LookupStatus* why) const {
  const RelTime oldest = oldest_live_.load(std::memory_order_acquire);
  if (oldest != 0 && oldest <= now && it->time.load(std::memory_order_relaxed) <= oldest) {
    *why = LookupStatus::flushed;
    return false;
  }
  const RelTime exp = it->exptime.load(std::memory_order_relaxed);
  if (exp != 0 && exp <= now) {
    *why = LookupStatus::expired;
    return false;
  }
  return true;
}

Store::HashedKey Store::hashed(std::string_view key) {
  return {key, hash_key(key)};
}

Item* Store::find_locked(Stripe& s, const HashedKey& key, RelTime now, LookupStatus* why) {
  auto pos = s.index.find(key);
  if (pos == s.index.end()) {
    *why = LookupStatus::miss;
    return nullptr;
  }
  Item* it = item(*pos);
  if (!is_live(it, now, why)) {
    {
      std::lock_guard lock(lrus_[it->cls()].mu);
      ++lrus_[it->cls()].reclaimed;
      if (!it->has(kFetched)) ++lrus_[it->cls()].expired_unfetched;
    }
    unlink_locked(s, it);
    return nullptr;
  }
  *why = LookupStatus::hit;
  return it;
}

void Store::link_locked(Stripe& s, Item* it, RelTime now) {
  it->time.store(now, std::memory_order_relaxed);
  it->cas.store(next_cas(), std::memory_order_relaxed);
  it->access.store(kLinked, std::memory_order_relaxed);
  s.index.insert(slabs_.handle_of(it));
  s.items.add(1);
  s.total_items.add(1);
  s.bytes.add(static_cast<std::int64_t>(it->total_size()));
  Lru& l = lrus_[it->cls()];
  std::lock_guard lock(l.mu);
  lru_push(l, Segment::hot, it);
  l.requested += it->total_size();
  lru_balance(l);
}

void Store::unlink_locked(Stripe& s, Item* it) {
  s.index.erase(slabs_.handle_of(it));
  it->access.fetch_and(static_cast<std::uint8_t>(~kLinked), std::memory_order_relaxed);
  s.items.add(-1);
  s.bytes.add(-static_cast<std::int64_t>(it->total_size()));
  {
    Lru& l = lrus_[it->cls()];
    std::lock_guard lock(l.mu);
    lru_remove(l, it);
    l.requested -= it->total_size();
  }
  adopt(it).reset();  // the index's reference
}

void Store::replace_locked(Stripe& s, const HashedKey& key, Item* old_it, Item* it, RelTime now) {
  // Same key, same hash: the new item takes the old one's slot, so churn on
  // existing keys never erases from (or rehashes) the index.
  auto pos = s.index.find(key);
  const_cast<StoredHandle&>(*pos) = slabs_.handle_of(it);
  old_it->access.fetch_and(static_cast<std::uint8_t>(~kLinked), std::memory_order_relaxed);
  it->time.store(now, std::memory_order_relaxed);
  it->cas.store(next_cas(), std::memory_order_relaxed);
  it->access.store(kLinked, std::memory_order_relaxed);
  s.total_items.add(1);
  s.bytes.add(static_cast<std::int64_t>(it->total_size()) -
              static_cast<std::int64_t>(old_it->total_size()));
  if (old_it->cls() == it->cls()) {
    Lru& l = lrus_[it->cls()];
    std::lock_guard lock(l.mu);
    lru_remove(l, old_it);
    l.requested -= old_it->total_size();
    lru_push(l, Segment::hot, it);
    l.requested += it->total_size();
    lru_balance(l);
  } else {
    {
      Lru& l = lrus_[old_it->cls()];
      std::lock_guard lock(l.mu);
      lru_remove(l, old_it);
      l.requested -= old_it->total_size();
    }
    Lru& l = lrus_[it->cls()];
    std::lock_guard lock(l.mu);
    lru_push(l, Segment::hot, it);
    l.requested += it->total_size();
    lru_balance(l);
  }
  adopt(old_it).reset();  // the index's reference to the old item
}

void Store::touch_access_locked(Item* it, RelTime now) {
  const std::uint8_t a = it->access.load(std::memory_order_relaxed);
  if ((a & kFetched) == 0) {
    it->access.fetch_or(kFetched, std::memory_order_relaxed);
  } else if ((a & kActive) == 0) {
    it->access.fetch_or(kActive, std::memory_order_relaxed);
  }
  if (now - it->time.load(std::memory_order_relaxed) >= kUpdateInterval) {
    it->time.store(now, std::memory_order_relaxed);
  }
}

}  // namespace memcoro::store
