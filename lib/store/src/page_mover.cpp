#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

#include "store_internal.hpp"

namespace memcoro::store {

bool Store::steal_page_for(unsigned cls) {
  if (!slabs_.moving()) {
    unsigned donor = oldest_class(cls, 2);
    if (donor == 0) donor = oldest_class(cls, 1);
    if (donor == 0) return false;
    if (slabs_.start_move(donor, cls, 1) != SlabAllocator::MoveStatus::ok) {
      if (!slabs_.moving()) return false;
    }
  }
  return process_move();
}

bool Store::clear_for_move(ItemRef ref, RelTime now) {
  Item* it = ref.get();
  const std::size_t hash = hash_key(it->key());
  Stripe& s = stripe_for(hash);
  std::lock_guard lock(s.mu);
  if (!it->has(kLinked)) return true;  // gone already: freed with its last reference
  // Nobody but the index and us may hold it: a reader still sending it keeps
  // the page, and the next round tries again.
  if (it->refcount.load(std::memory_order_acquire) != 2) {
    reassign_busy_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  LookupStatus why;
  if (!is_live(it, now, &why)) {
    {
      std::lock_guard lru_lock(lrus_[it->cls()].mu);
      ++lrus_[it->cls()].reclaimed;
    }
    unlink_locked(s, it);
    return true;
  }
  // A live item is copied into a free chunk of its class elsewhere, as
  // memcached's page mover rescues it; it keeps its key, value, CAS, times,
  // access bits and LRU segment. Only when the class has no free chunk (and
  // no new page is taken for it) is the item dropped.
  void* chunk = slabs_.alloc(it->cls(), /*new_page=*/false);
  if (chunk == nullptr) {
    unlink_locked(s, it);
    reassign_evictions_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  Item* copy = init_item(chunk, it->cls(), it->key(), it->flags,
                         it->exptime.load(std::memory_order_relaxed), it->value_len);
  std::memcpy(copy->value_data(), it->value().data(), it->value_len);
  copy->cas.store(it->cas_value(), std::memory_order_relaxed);
  copy->time.store(it->time.load(std::memory_order_relaxed), std::memory_order_relaxed);
  copy->access.store(it->access.load(std::memory_order_relaxed), std::memory_order_relaxed);
  auto pos = s.index.find(HashedKey{it->key(), hash});
  const_cast<StoredHandle&>(*pos) = slabs_.handle_of(copy);
  it->access.fetch_and(static_cast<std::uint8_t>(~kLinked), std::memory_order_relaxed);
  {
    Lru& l = lrus_[it->cls()];
    std::lock_guard lru_lock(l.mu);
    const Segment seg = it->segment();
    lru_remove(l, it);
    lru_push(l, seg == Segment::none ? Segment::hot : seg, copy);
  }
  adopt(it).reset();  // the index's reference to the old chunk
  reassign_rescues_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool Store::process_move() {
  std::lock_guard lock(move_mu_);
  std::vector<ItemRef> victims;
  for (int round = 0; round < 50; ++round) {
    switch (slabs_.try_finish_move()) {
      case SlabAllocator::FinishStatus::idle: return true;
      case SlabAllocator::FinishStatus::finished:
        slabs_moved_.fetch_add(1, std::memory_order_relaxed);
        return true;
      case SlabAllocator::FinishStatus::pending: break;
    }
    // The page's items are found through their class's LRU, where every item
    // is complete and linked; chunks still being built or read are waited for.
    const SlabAllocator::MovingPage page = slabs_.moving_page();
    if (page.begin == nullptr) continue;
    // The LRU is walked in slices, so that no worker waits on its lock for
    // a whole walk: a class can hold millions of items, and walking 100,000
    // under the lock took about 10 ms (the p99 of a set-heavy workload).
    // Between slices the walk holds a reference to the item it stopped at
    // and resumes there if that item is still in the same segment;
    // otherwise the segment starts again (a few times at most: what a round
    // misses, the next round finds).
    Lru& l = lrus_[page.src];
    for (unsigned seg = 0; seg < kSegments; ++seg) {
      ItemRef cursor;
      for (int restarts = 0; restarts < 4;) {
        ItemRef stopped_at;
        {
          std::lock_guard lru_lock(l.mu);
          Handle h = l.head[seg];
          if (cursor) {
            if (cursor.get()->segment() == static_cast<Segment>(seg)) {
              h = slabs_.handle_of(cursor.get());
            } else {
              ++restarts;
            }
          }
          for (unsigned n = 0; h != 0 && n < kMoveSlice; ++n, h = item(h)->next()) {
            const char* at = reinterpret_cast<const char*>(item(h));
            if (at >= page.begin && at < page.end) victims.push_back(share(item(h)));
          }
          if (h != 0) stopped_at = share(item(h));
        }
        cursor = std::move(stopped_at);  // the old cursor is released unlocked
        if (!cursor) break;
      }
    }
    // A segment walked again lists some items twice.
    std::sort(victims.begin(), victims.end(),
              [](const ItemRef& a, const ItemRef& b) { return a.get() < b.get(); });
    victims.erase(
        std::unique(victims.begin(), victims.end(),
                    [](const ItemRef& a, const ItemRef& b) { return a.get() == b.get(); }),
        victims.end());
    bool all = true;
    const RelTime now = rel_now();
    for (ItemRef& ref : victims) all = clear_for_move(std::move(ref), now) && all;
    victims.clear();
    if (!all || round > 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

memory::SlabAllocator::MoveStatus Store::reassign(unsigned src, unsigned dst) {
  if (dst == 0) return SlabAllocator::MoveStatus::bad_class;
  const auto status = slabs_.start_move(src, dst, 2);
  if (status == SlabAllocator::MoveStatus::ok) process_move();
  return status;
}

memory::SlabAllocator::MoveStatus Store::reassign_any(unsigned dst) {
  const unsigned src = oldest_class(dst, 2);
  if (src == 0) return SlabAllocator::MoveStatus::bad_class;
  return reassign(src, dst);
}

bool Store::set_memory_limit(std::size_t bytes) {
  if (!slabs_.set_limit(bytes)) return false;
  // Shrinking: pages go back to the pool, the oldest class's first, until
  // they fit. A move the maintenance thread started meanwhile is finished
  // here too (start_move answers busy to it). A page whose items stay in
  // use is waited for about a second; then the maintenance tick goes on.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (slabs_.malloced() > slabs_.limit() && std::chrono::steady_clock::now() < give_up) {
    if (slabs_.moving()) {
      process_move();
      continue;
    }
    const unsigned donor = oldest_class(0, 1);
    if (donor == 0) break;
    const SlabAllocator::MoveStatus started = slabs_.start_move(donor, 0, 1);
    if (started != SlabAllocator::MoveStatus::ok && started != SlabAllocator::MoveStatus::busy) {
      break;
    }
  }
  return true;
}

void Store::automove_step() {
  const RelTime now = rel_now();
  const unsigned level = automove();
  unsigned dst = 0;
  RelTime dst_age = 0;
  for (unsigned c = 1; c <= slabs_.num_classes(); ++c) {
    std::uint64_t evicted;
    {
      std::lock_guard lock(lrus_[c].mu);
      evicted = lrus_[c].evicted;
    }
    const bool evicting = evicted > last_evicted_[c];
    last_evicted_[c] = evicted;
    if (!evicting) continue;
    const RelTime age = tail_age(c, now);
    if (dst == 0 || age < dst_age) {
      dst = c;
      dst_age = age;
    }
  }
  if (dst == 0) {
    // Nobody is short of memory: a class that has kept more than 2.5 pages
    // of free chunks for kReclaimWindow checks in a row, while memory is at
    // its limit, hands a page back to the pool for whichever class needs
    // memory next. memcached waits out a window the same way: a page move
    // drops the items still on the page, so it must not happen every time
    // a class has some free chunks for a moment (it did once a second in
    // the memtier workload, dropping 5% of its items).
    const bool at_limit = slabs_.malloced() + slabs_.page_size() > slabs_.usable_limit();
    for (unsigned c = 1; c <= slabs_.num_classes(); ++c) {
      const auto st = slabs_.class_stats(c);
      const bool spare = st.total_pages >= 3 && st.free_chunks * 2 >= 5 * st.chunks_per_page;
      free_streak_[c] = at_limit && spare ? free_streak_[c] + 1 : 0;
    }
    for (unsigned c = 1; c <= slabs_.num_classes(); ++c) {
      if (free_streak_[c] < kReclaimWindow) continue;
      free_streak_[c] = 0;
      if (slabs_.start_move(c, 0, 2) == SlabAllocator::MoveStatus::ok) process_move();
      return;
    }
    return;
  }
  const unsigned src = oldest_class(dst, 2);
  if (src == 0) return;
  const RelTime src_age = tail_age(src, now);
  // memcached's slab_automove_ratio 0.8: move when the evicting class's
  // oldest item is clearly younger than the oldest item elsewhere.
  if (level >= 2 || static_cast<double>(dst_age) < static_cast<double>(src_age) * 0.8) {
    if (slabs_.start_move(src, dst, 2) == SlabAllocator::MoveStatus::ok) process_move();
  }
}

}  // namespace memcoro::store
