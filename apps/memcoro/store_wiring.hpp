#pragma once
// The store as the settings describe it: its configuration at start, and the
// appliers through which config::Live changes it while running.
#include <memory>

#include "memcoro/config/live.hpp"
#include "memcoro/config/settings.hpp"
#include "memcoro/store/store.hpp"

namespace memcoro {

store::StoreConfig store_config(const config::Settings& s);

// The store, with memory_file restored from its last graceful stop when it
// can be (and saying on stderr what happened), else empty.
std::unique_ptr<store::Store> open_store(const config::Settings& s, const store::Clock& clock);
// At a graceful stop, once nothing else uses the store: with memory_file,
// writes its metadata for the next start.
void save_store(const config::Settings& s, const store::Store& store);

// Registers the store's appliers with `live`: the memory limit first (the
// one setting the store may refuse; refused, nothing has changed), then
// automove, the crawler and the LRU segments.
void apply_to_store(config::Live& live, store::Store& store);

}  // namespace memcoro
