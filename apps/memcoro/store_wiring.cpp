#include "store_wiring.hpp"

#include <string>

namespace memcoro {

// The store keeps defaults of its own, for what builds a store without the
// settings (the fuzzer, tests, benchmarks); the server always builds it
// from Settings (below). They must be the settings' defaults: checked here,
// where both are known, when memcoro is compiled.
namespace {
constexpr bool same_defaults() {
  const config::Settings s;
  const store::StoreConfig c;
  return c.memory_limit == s.memory_limit && c.max_item_size == s.max_item_size &&
         c.chunk_size == s.chunk_size && c.growth_factor == s.growth_factor &&
         c.evictions == s.evictions && c.automove == s.slab_automove &&
         c.lru_crawler == s.lru_crawler && c.hot_pct == s.hot_lru_pct &&
         c.warm_pct == s.warm_lru_pct;
}
static_assert(same_defaults(), "store::StoreConfig's defaults differ from config::Settings'");
}  // namespace

store::StoreConfig store_config(const config::Settings& s) {
  store::StoreConfig c;
  c.memory_limit = s.memory_limit;
  c.max_item_size = s.max_item_size;
  c.chunk_size = s.chunk_size;
  c.growth_factor = s.growth_factor;
  c.evictions = s.evictions;
  c.automove = s.slab_automove;
  c.lru_crawler = s.lru_crawler;
  c.hot_pct = s.hot_lru_pct;
  c.warm_pct = s.warm_lru_pct;
  c.reserve = s.memory_reserve;
  return c;
}

void apply_to_store(config::Live& live, store::Store& store) {
  live.on_change([&store](const config::Settings& from,
                          const config::Settings& to) -> std::optional<config::Rejection> {
    if (to.memory_limit == from.memory_limit || store.set_memory_limit(to.memory_limit)) {
      return std::nullopt;
    }
    return config::Rejection{"memory_limit",
                             "the store refused a limit of " + std::to_string(to.memory_limit) +
                                 " bytes (cache_memlimit answers MEMLIMIT_ADJUST_FAILED to it)",
                             false};
  });
  live.on_change([&store](const config::Settings&, const config::Settings& to) {
    store.set_automove(to.slab_automove);
    store.set_lru_crawler(to.lru_crawler);
    store.set_lru_segments(to.hot_lru_pct, to.warm_lru_pct);
    return std::optional<config::Rejection>{};
  });
}

}  // namespace memcoro
