#include <algorithm>
#include <bit>
#include <map>

#include "store_internal.hpp"

namespace memcoro::store {

StoreCounters Store::counters() const {
  StoreCounters c;
  for (std::size_t i = 0; i <= stripe_mask_; ++i) {
    c.curr_items += stripes_[i].items.get();
    c.total_items += stripes_[i].total_items.get();
    c.bytes += stripes_[i].bytes.get();
  }
  for (unsigned k = 1; k <= slabs_.num_classes(); ++k) {
    Lru& l = lrus_[k];
    std::lock_guard lock(l.mu);
    c.evictions += l.evicted;
    c.reclaimed += l.reclaimed + l.crawler_reclaimed;
    c.expired_unfetched += l.expired_unfetched;
    c.evicted_unfetched += l.evicted_unfetched;
    c.crawler_reclaimed += l.crawler_reclaimed;
    c.evicted_active += l.evicted_active;
    c.crawler_items_checked += l.crawler_items_checked;
    c.lrutail_reflocked += l.lrutail_reflocked;
    c.moves_to_cold += l.moves_to_cold;
    c.moves_to_warm += l.moves_to_warm;
    c.moves_within_lru += l.moves_within_lru;
    c.direct_reclaims += l.direct_reclaims;
  }
  std::uint64_t slots = 0;
  for (std::size_t i = 0; i <= stripe_mask_; ++i) {
    std::lock_guard lock(stripes_[i].mu);
    slots += stripes_[i].index.bucket_count();
  }
  c.hash_power_level = slots == 0 ? 0 : std::bit_width(slots) - 1;
  // A slot holds a handle; each group of 15 slots has 16 bytes of metadata.
  c.hash_bytes = slots * sizeof(StoredHandle) + (slots + 14) / 15 * 16;
  c.lru_crawler_running = crawlers_running_.load(std::memory_order_relaxed) > 0;
  c.lru_crawler_starts = crawler_starts_.load(std::memory_order_relaxed);
  c.slabs_moved = slabs_moved_.load(std::memory_order_relaxed);
  c.slab_reassign_evictions = reassign_evictions_.load(std::memory_order_relaxed);
  c.slab_reassign_rescues = reassign_rescues_.load(std::memory_order_relaxed);
  c.slab_reassign_busy_items = reassign_busy_.load(std::memory_order_relaxed);
  c.slab_reassign_running = slabs_.moving();
  return c;
}

std::vector<ClassItemStats> Store::item_stats() const {
  std::vector<ClassItemStats> out;
  const RelTime now = rel_now();
  for (unsigned k = 1; k <= slabs_.num_classes(); ++k) {
    Lru& l = lrus_[k];
    std::lock_guard lock(l.mu);
    if (l.total() == 0 && l.evicted == 0 && l.outofmemory == 0 && l.reclaimed == 0 &&
        l.crawler_reclaimed == 0) {
      continue;
    }
    auto age_of = [&](Handle h) -> std::uint64_t {
      if (h == 0) return 0;
      const RelTime t = item(h)->time.load(std::memory_order_relaxed);
      return now > t ? now - t : 0;
    };
    ClassItemStats s;
    s.cls = k;
    s.number = l.total();
    s.number_hot = l.count[0];
    s.number_warm = l.count[1];
    s.number_cold = l.count[2];
    s.age_hot = age_of(l.tail[0]);
    s.age_warm = age_of(l.tail[1]);
    s.age = age_of(l.tail[2] != 0 ? l.tail[2] : l.tail[1] != 0 ? l.tail[1] : l.tail[0]);
    s.mem_requested = l.requested;
    s.evicted = l.evicted;
    s.evicted_nonzero = l.evicted_nonzero;
    s.evicted_time = l.evicted_time;
    s.outofmemory = l.outofmemory;
    s.reclaimed = l.reclaimed;
    s.expired_unfetched = l.expired_unfetched;
    s.evicted_unfetched = l.evicted_unfetched;
    s.evicted_active = l.evicted_active;
    s.crawler_reclaimed = l.crawler_reclaimed;
    s.crawler_items_checked = l.crawler_items_checked;
    s.moves_to_cold = l.moves_to_cold;
    s.moves_to_warm = l.moves_to_warm;
    s.moves_within_lru = l.moves_within_lru;
    s.lrutail_reflocked = l.lrutail_reflocked;
    s.direct_reclaims = l.direct_reclaims;
    out.push_back(s);
  }
  return out;
}

std::vector<std::pair<std::size_t, std::uint64_t>> Store::size_histogram() const {
  std::map<std::size_t, std::uint64_t> buckets;
  for (std::size_t i = 0; i <= stripe_mask_; ++i) {
    Stripe& s = stripes_[i];
    std::lock_guard lock(s.mu);
    for (Handle h : s.index) ++buckets[(item(h)->total_size() + 31) / 32 * 32];
  }
  return {buckets.begin(), buckets.end()};
}

ItemInfo info_of(const Item* it, const Store& store) {
  ItemInfo i;
  i.key = std::string(it->key());
  i.value_len = it->value_len;
  const RelTime exp = it->exptime.load(std::memory_order_relaxed);
  i.exptime = exp == 0 ? 0 : store.to_unix(exp);
  i.last_access = store.to_unix(it->time.load(std::memory_order_relaxed));
  i.cas = it->cas_value();
  i.fetched = it->has(kFetched);
  i.key_binary = it->has(kKeyBinary);
  i.cls = it->cls();
  i.total_size = it->total_size();
  return i;
}

std::vector<ItemInfo> Store::class_items(unsigned cls, unsigned limit) const {
  std::vector<ItemInfo> out;
  if (cls < 1 || cls > slabs_.num_classes()) return out;
  Lru& l = lrus_[cls];
  std::lock_guard lock(l.mu);
  for (unsigned seg = 0; seg < kSegments; ++seg) {
    for (Handle h = l.head[seg]; h != 0; h = item(h)->next()) {
      if (limit != 0 && out.size() >= limit) return out;
      if (item(h)->has(kKeyBinary)) continue;
      out.push_back(info_of(item(h), *this));
    }
  }
  return out;
}

std::vector<ItemInfo> Store::all_items(const std::vector<unsigned>& classes) const {
  std::vector<ItemInfo> out;
  for (std::size_t i = 0; i <= stripe_mask_; ++i) {
    Stripe& s = stripes_[i];
    std::lock_guard lock(s.mu);
    for (Handle h : s.index) {
      const Item* it = item(h);
      if (!classes.empty() &&
          std::find(classes.begin(), classes.end(), it->cls()) == classes.end()) {
        continue;
      }
      out.push_back(info_of(it, *this));
    }
  }
  return out;
}

}  // namespace memcoro::store
