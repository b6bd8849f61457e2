#include "store_wiring.hpp"

#include <chrono>
#include <cstdio>
#include <string>

#include "memcoro/store/warm_restart.hpp"

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
  // A memory file holds every page the reservation may use: unless told
  // otherwise, as much as the limit.
  c.reserve = s.memory_reserve != 0 || s.memory_file.empty() ? s.memory_reserve : s.memory_limit;
  c.memory_file = s.memory_file;
  return c;
}

std::unique_ptr<store::Store> open_store(const config::Settings& s, const store::Clock& clock) {
  store::StoreConfig c = store_config(s);
  if (c.memory_file.empty()) return std::make_unique<store::Store>(c, clock);
  const auto started = std::chrono::steady_clock::now();
  std::string snapshot;
  std::string why = store::read_warm_meta(c, snapshot);
  // From here on the file changes: a crash must never restore it.
  store::remove_warm_meta(c);
  if (why.empty()) {
    c.keep_memory_file = true;
    auto st = std::make_unique<store::Store>(c, clock);
    store::Store::Restored r;
    why = st->restore(snapshot, r);
    if (why.empty()) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - started);
      std::fprintf(stderr,
                   "memcoro: warm restart from %s: %llu items restored, %llu expired while "
                   "stopped, in %lld ms\n",
                   c.memory_file.c_str(), static_cast<unsigned long long>(r.items),
                   static_cast<unsigned long long>(r.dropped), static_cast<long long>(ms.count()));
      return st;
    }
    c.keep_memory_file = false;
  }
  std::fprintf(stderr, "memcoro: warm restart: %s; starting with an empty cache\n", why.c_str());
  return std::make_unique<store::Store>(c, clock);
}

void save_store(const config::Settings& s, const store::Store& store) {
  if (s.memory_file.empty()) return;
  if (std::string e = store::write_warm_meta(store); !e.empty()) {
    std::fprintf(stderr, "memcoro: warm restart: %s; the next start will be empty\n", e.c_str());
    return;
  }
  std::fprintf(stderr, "memcoro: saved %s for a warm restart\n",
               store::warm_meta_path(s.memory_file).c_str());
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
