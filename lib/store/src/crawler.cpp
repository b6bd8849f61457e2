#include <vector>

#include "store_internal.hpp"

namespace memcoro::store {

std::size_t Store::crawl_stripes(std::size_t first, std::size_t count) {
  if (first == 0) crawler_starts_.fetch_add(1, std::memory_order_relaxed);
  crawlers_running_.fetch_add(1, std::memory_order_relaxed);
  const RelTime now = rel_now();
  std::size_t reclaimed = 0;
  std::vector<Handle> dead;
  std::uint64_t checked[memory::SlabAllocator::kMaxClasses + 1] = {};
  for (std::size_t i = 0; i < count; ++i) {
    Stripe& s = stripes_[(first + i) & stripe_mask_];
    std::lock_guard lock(s.mu);
    dead.clear();
    for (Handle h : s.index) {
      LookupStatus why;
      ++checked[item(h)->cls()];
      if (!is_live(item(h), now, &why)) dead.push_back(h);
    }
    for (Handle h : dead) {
      Item* it = item(h);
      {
        Lru& l = lrus_[it->cls()];
        std::lock_guard lru_lock(l.mu);
        ++l.crawler_reclaimed;
        if (!it->has(kFetched)) ++l.expired_unfetched;
      }
      unlink_locked(s, it);
      ++reclaimed;
    }
  }
  for (unsigned k = 1; k <= slabs_.num_classes(); ++k) {
    if (checked[k] == 0) continue;
    std::lock_guard lru_lock(lrus_[k].mu);
    lrus_[k].crawler_items_checked += checked[k];
  }
  crawlers_running_.fetch_sub(1, std::memory_order_relaxed);
  return reclaimed;
}

std::size_t Store::crawl_all() {
  return crawl_stripes(0, stripe_mask_ + 1);
}

}  // namespace memcoro::store
