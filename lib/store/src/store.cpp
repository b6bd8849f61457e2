#include <algorithm>
#include <bit>

#include "store_internal.hpp"

namespace memcoro::store {

namespace {

memory::SlabConfig slab_config(const StoreConfig& c) {
  memory::SlabConfig s;
  s.memory_limit = c.memory_limit;
  s.item_size_max = c.max_item_size;
  s.min_chunk = sizeof(Item) + c.chunk_size;
  s.growth_factor = c.growth_factor;
  s.reserve = c.reserve;
  s.memory_file = c.memory_file;
  s.keep_file_contents = c.keep_memory_file;
  return s;
}

}  // namespace

Store::Store(const StoreConfig& config, const Clock& clock)
    : config_(config),
      clock_(clock),
      slabs_(slab_config(config)),
      automove_(config.automove),
      lru_crawler_(config.lru_crawler),
      hot_pct_(config.hot_pct),
      warm_pct_(config.warm_pct) {
  // Two seconds before now, so that RelTime 1 ("already expired") is always
  // in the past, as in memcached.
  epoch_ = clock_.now() - 2;
  const std::size_t n = std::bit_ceil(std::max<std::size_t>(config_.stripes, 1));
  config_.stripes = n;
  stripe_mask_ = n - 1;
  stripes_ = std::make_unique<Stripe[]>(n);
  for (std::size_t i = 0; i < n; ++i) {
    stripes_[i].index = Index(0, HandleHash{&slabs_, &stripes_[i].known}, HandleEq{&slabs_});
  }
  lrus_ = std::make_unique<Lru[]>(SlabAllocator::kMaxClasses + 1);
  last_evicted_.assign(SlabAllocator::kMaxClasses + 1, 0);
  free_streak_.assign(SlabAllocator::kMaxClasses + 1, 0);
}

// Item memory goes with the allocator's address range.
Store::~Store() = default;

std::size_t Store::stripe_index(std::size_t hash) const {
  // The index mixes the hash again before using it, so the stripe can use
  // the top bits without skewing the sets.
  return (hash >> 40) & stripe_mask_;
}

Store::Stripe& Store::stripe_for(std::size_t hash) const {
  return stripes_[stripe_index(hash)];
}

RelTime Store::rel_now() const {
  return static_cast<RelTime>(clock_.now() - epoch_);
}

RelTime Store::to_rel_time(std::int64_t exptime) const {
  if (exptime == 0) return 0;
  if (exptime < 0) return 1;
  if (exptime > kMaxRelativeExptime) {
    if (exptime <= epoch_) return 1;
    return static_cast<RelTime>(exptime - epoch_);
  }
  return static_cast<RelTime>(exptime + rel_now());
}

void Store::maintenance_tick() {
  if (slabs_.moving()) process_move();
  if (slabs_.malloced() > slabs_.limit()) set_memory_limit(slabs_.limit());
  const std::int64_t now = clock_.now();
  if (automove() > 0 && now != last_automove_) {
    last_automove_ = now;
    automove_step();
  }
  if (lru_crawler()) {
    // A full pass over the index about every ten seconds at ten ticks a second.
    const std::size_t n = stripe_mask_ + 1;
    const std::size_t step = std::max<std::size_t>(1, n / 100);
    crawl_stripes(crawl_cursor_, step);
    crawl_cursor_ = (crawl_cursor_ + step) & stripe_mask_;
  }
}

}  // namespace memcoro::store
