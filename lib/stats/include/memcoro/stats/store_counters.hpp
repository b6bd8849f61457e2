#pragma once
// The store's own counters, as Store::counters() sums them over its stripes
// and LRUs: the general `stats` report reads them from here, field by field
// as it shows them, without a copy of its own.
#include <cstdint>

namespace memcoro::stats {

struct StoreCounters {
  std::uint64_t curr_items = 0;
  std::uint64_t total_items = 0;
  std::uint64_t bytes = 0;
  std::uint64_t evictions = 0;
  std::uint64_t reclaimed = 0;
  std::uint64_t expired_unfetched = 0;
  std::uint64_t evicted_unfetched = 0;
  std::uint64_t crawler_reclaimed = 0;
  std::uint64_t slabs_moved = 0;
  std::uint64_t slab_reassign_evictions = 0;   // live items dropped: no free chunk
  std::uint64_t slab_reassign_rescues = 0;     // live items copied off a moving page
  std::uint64_t slab_reassign_busy_items = 0;  // items in use when the mover came
  bool slab_reassign_running = false;
  // Sums of the per-class `stats items` fields of the same names.
  std::uint64_t evicted_active = 0, crawler_items_checked = 0, lrutail_reflocked = 0;
  std::uint64_t moves_to_cold = 0, moves_to_warm = 0, moves_within_lru = 0, direct_reclaims = 0;
  // The index, all stripes: log2 of its slots (rounded down) and the bytes
  // of its tables, as memcached's hash_power_level and hash_bytes.
  std::uint64_t hash_power_level = 0, hash_bytes = 0;
  bool lru_crawler_running = false;
  std::uint64_t lru_crawler_starts = 0;  // crawls begun: passes over the index and crawl_all
};

}  // namespace memcoro::stats
