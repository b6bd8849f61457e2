#include <algorithm>
#include <cstring>
#include <new>

#include "store_internal.hpp"

namespace memcoro::store {

void Store::lru_push(Lru& l, Segment seg, Item* it) {
  const auto i = static_cast<unsigned>(seg);
  const Handle h = slabs_.handle_of(it);
  it->set_segment(seg);
  it->set_prev(0);
  it->set_next(l.head[i]);
  if (l.head[i] != 0) item(l.head[i])->set_prev(h);
  l.head[i] = h;
  if (l.tail[i] == 0) l.tail[i] = h;
  ++l.count[i];
}

void Store::lru_remove(Lru& l, Item* it) {
  const auto i = static_cast<unsigned>(it->segment());
  if (i >= kSegments) return;
  const Handle prev = it->prev();
  const Handle next = it->next();
  if (prev != 0) {
    item(prev)->set_next(next);
  } else {
    l.head[i] = next;
  }
  if (next != 0) {
    item(next)->set_prev(prev);
  } else {
    l.tail[i] = prev;
  }
  it->set_prev(0);
  it->set_next(0);
  it->set_segment(Segment::none);
  --l.count[i];
}

// memcached's segmented LRU, done inline instead of by a maintainer thread:
// new items enter HOT; what leaves HOT goes to WARM if it was read twice
// (kActive), else to COLD; WARM keeps its active items and sends the rest to
// COLD; eviction takes COLD's tail, rescuing items read while in COLD.
void Store::lru_balance(Lru& l) {
  const std::uint64_t total = l.total();
  const std::uint64_t hot_max =
      std::max<std::uint64_t>(1, total * hot_pct_.load(std::memory_order_relaxed) / 100);
  const std::uint64_t warm_max = total * warm_pct_.load(std::memory_order_relaxed) / 100;
  // Moves the tail of `from` to WARM if it was read twice, else to COLD.
  auto demote_tail = [&](unsigned from, std::uint64_t& active_moves) {
    Item* it = item(l.tail[from]);
    lru_remove(l, it);
    if (it->has(kActive)) {
      it->access.fetch_and(static_cast<std::uint8_t>(~kActive), std::memory_order_relaxed);
      lru_push(l, Segment::warm, it);
      ++active_moves;
    } else {
      lru_push(l, Segment::cold, it);
      ++l.moves_to_cold;
    }
  };
  for (int step = 0; step < 4 && l.count[0] > hot_max; ++step) demote_tail(0, l.moves_to_warm);
  for (int step = 0; step < 4 && l.count[1] > warm_max; ++step) demote_tail(1, l.moves_within_lru);
}

Item* Store::allocate_item(std::string_view key, std::uint32_t flags, RelTime exptime,
                           std::size_t value_len, StoreStatus* error) {
  const std::size_t total = Item::total_size(key.size(), value_len);
  const unsigned cls = total <= config_.max_item_size ? slabs_.class_for(total) : 0;
  if (cls == 0) {
    *error = StoreStatus::too_large;
    return nullptr;
  }
  for (int attempt = 0; attempt < 32; ++attempt) {
    if (void* p = slabs_.alloc(cls)) {
      return init_item(p, cls, key, flags, exptime, value_len);
    }
    if (!config_.evictions) break;
    if (evict_one(cls) || steal_page_for(cls)) {
      // memcached's direct_reclaims: the request itself made room.
      std::lock_guard lock(lrus_[cls].mu);
      ++lrus_[cls].direct_reclaims;
      continue;
    }
    break;
  }
  {
    std::lock_guard lock(lrus_[cls].mu);
    ++lrus_[cls].outofmemory;
  }
  *error = StoreStatus::no_memory;
  return nullptr;
}

bool Store::evict_one(unsigned cls) {
  Lru& l = lrus_[cls];
  std::lock_guard lock(l.mu);
  const RelTime now = rel_now();
  int tries = 0;
  for (unsigned seg : {2u, 1u, 0u}) {
    Handle h = l.tail[seg];
    while (h != 0 && tries < kEvictTries) {
      Item* it = item(h);
      h = it->prev();
      ++tries;
      if (seg == 2 && it->has(kActive)) {
        // Read while in COLD: rescue it to WARM instead of evicting it.
        it->access.fetch_and(static_cast<std::uint8_t>(~kActive), std::memory_order_relaxed);
        lru_remove(l, it);
        lru_push(l, Segment::warm, it);
        ++l.moves_to_warm;
        continue;
      }
      if (it->refcount.load(std::memory_order_acquire) != 1) {
        ++l.lrutail_reflocked;  // in use
        continue;
      }
      Stripe& s = stripe_for(hash_key(it->key()));
      std::unique_lock stripe_lock(s.mu, std::try_to_lock);
      if (!stripe_lock.owns_lock()) continue;
      if (!it->has(kLinked) || it->refcount.load(std::memory_order_acquire) != 1) continue;
      LookupStatus why;
      const bool live = is_live(it, now, &why);
      if (live) {
        ++l.evicted;
        if (it->exptime.load(std::memory_order_relaxed) != 0) ++l.evicted_nonzero;
        l.evicted_time = now - it->time.load(std::memory_order_relaxed);
        if (!it->has(kFetched)) ++l.evicted_unfetched;
        EvictionObserver* o = eviction_observer_.load(std::memory_order_acquire);
        if (o != nullptr && o->wanted()) o->evicted(*it, now);
      } else {
        ++l.reclaimed;
        if (!it->has(kFetched)) ++l.expired_unfetched;
      }
      // unlink_locked() without retaking the LRU lock we hold.
      s.index.erase(slabs_.handle_of(it));
      it->access.fetch_and(static_cast<std::uint8_t>(~kLinked), std::memory_order_relaxed);
      s.items.add(-1);
      s.bytes.add(-static_cast<std::int64_t>(it->total_size()));
      lru_remove(l, it);
      l.requested -= it->total_size();
      stripe_lock.unlock();
      adopt(it).reset();
      return true;
    }
  }
  return false;
}

unsigned Store::oldest_class(unsigned except, std::size_t min_pages) const {
  const RelTime now = rel_now();
  unsigned best = 0;
  RelTime best_age = 0;
  std::size_t best_pages = 0;
  for (unsigned c = 1; c <= slabs_.num_classes(); ++c) {
    if (c == except) continue;
    const std::size_t pages = slabs_.class_stats(c).total_pages;
    if (pages < min_pages || pages == 0) continue;
    const RelTime age = tail_age(c, now);
    if (best == 0 || age > best_age || (age == best_age && pages > best_pages)) {
      best = c;
      best_age = age;
      best_pages = pages;
    }
  }
  return best;
}

RelTime Store::tail_age(unsigned cls, RelTime now) const {
  Lru& l = lrus_[cls];
  std::lock_guard lock(l.mu);
  for (unsigned seg : {2u, 1u, 0u}) {
    if (l.tail[seg] != 0) {
      const RelTime t = item(l.tail[seg])->time.load(std::memory_order_relaxed);
      return now > t ? now - t : 0;
    }
  }
  return 0;
}

}  // namespace memcoro::store
