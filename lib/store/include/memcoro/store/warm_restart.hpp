#pragma once
// Warm restart, as memcached's -e: item memory lives in a file
// (StoreConfig::memory_file, typically on tmpfs), and a graceful stop writes
// FILE.meta beside it: the settings the memory was laid out with, the store's
// snapshot (Store::snapshot) and a checksum. A start with the same file and
// the same memory settings reads it, removes it at once (so that a crash
// from then on never restores memory changed since), and restores the store
// over the kept file (Store::restore). Anything else starts empty.
#include <string>

#include "memcoro/store/store.hpp"

namespace memcoro::store {

std::string warm_meta_path(const std::string& memory_file);

// Reads FILE.meta: "" with the snapshot if a graceful stop wrote it with
// these memory settings, else why it cannot be used (missing, damaged,
// other settings: "restart incompatible due to setting for [NAME]").
std::string read_warm_meta(const StoreConfig& config, std::string& snapshot);

// Writes FILE.meta for the store, which nothing else may use any more
// (through a temporary file, renamed, so that a stop cut short leaves none).
// "" or the error.
std::string write_warm_meta(const Store& store);

// Removes FILE.meta (if any): from now on the memory file changes.
void remove_warm_meta(const StoreConfig& config);

}  // namespace memcoro::store
