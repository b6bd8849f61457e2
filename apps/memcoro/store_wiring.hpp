#pragma once
// The store as the settings describe it: its configuration at start, and the
// appliers through which config::Live changes it while running.
#include "memcoro/config/live.hpp"
#include "memcoro/config/settings.hpp"
#include "memcoro/store/store.hpp"

namespace memcoro {

store::StoreConfig store_config(const config::Settings& s);

// Registers the store's appliers with `live`: the memory limit first (the
// one setting the store may refuse; refused, nothing has changed), then
// automove, the crawler and the LRU segments.
void apply_to_store(config::Live& live, store::Store& store);

}  // namespace memcoro
