#pragma once
// The item store: a lock-striped hash index over reference-counted items.
//
// Lock rules (all of them):
//  * The index is split into stripes; a key belongs to the stripe chosen by
//    its hash. Each stripe has one mutex guarding its hash set, its counters'
//    writes, and the mutable fields (exptime, and the value of an item no
//    other thread references) of the items linked in it.
//  * No function holds two stripe locks at once, so there is no lock order.
//  * Functions ending in _locked expect the caller to hold the stripe lock.
//  * A reader takes a reference (Item::refcount) under the lock and reads the
//    key, value, flags and CAS after releasing it: those never change while
//    an item is referenced by anyone but the index. A change that must alter
//    a referenced item links a new item in its place instead.
//  * The CAS counter and the flush markers are atomics, read without a lock.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "memcoro/store/clock.hpp"
#include "memcoro/store/item.hpp"

namespace memcoro::store {

enum class StoreMode : std::uint8_t { set, add, replace, append, prepend, cas };

enum class StoreStatus : std::uint8_t {
  stored,
  not_stored,
  exists,
  not_found,
  too_large,
  no_memory,
};

// Why a lookup found nothing usable.
enum class LookupStatus : std::uint8_t { hit, miss, expired, flushed };

enum class DeltaStatus : std::uint8_t { ok, not_found, non_numeric, no_memory };

struct GetResult {
  ItemRef item;
  LookupStatus status = LookupStatus::miss;
};

struct DeltaResult {
  DeltaStatus status = DeltaStatus::not_found;
  std::uint64_t value = 0;
  LookupStatus lookup = LookupStatus::miss;
};

struct StoreConfig {
  std::size_t memory_limit = 64u << 20;  // bytes (enforced by the memory part, later)
  std::size_t max_item_size = 1u << 20;  // header + key + value + "\r\n"
  std::size_t stripes = 256;             // rounded up to a power of two
};

struct StoreCounters {
  std::uint64_t curr_items = 0;
  std::uint64_t total_items = 0;
  std::uint64_t bytes = 0;
};

class Store {
 public:
  Store(const StoreConfig& config, const Clock& clock);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // A reference to the live item under key, or why there is none.
  GetResult get(std::string_view key);
  // get, and on a hit set the item's expiry (gat/gats).
  GetResult get_and_touch(std::string_view key, std::int64_t exptime);
  // touch: set the expiry; hit or the reason for a miss.
  LookupStatus touch(std::string_view key, std::int64_t exptime);
  LookupStatus remove(std::string_view key);

  // set/add/replace/append/prepend/cas. For cas, `cas_in` is the client's
  // unique; *cas_out receives the new item's CAS when stored.
  StoreStatus store(StoreMode mode, std::string_view key, std::uint32_t flags, std::int64_t exptime,
                    std::string_view value, std::uint64_t cas_in = 0,
                    std::uint64_t* cas_out = nullptr, LookupStatus* lookup = nullptr);

  DeltaResult delta(std::string_view key, bool incr, std::uint64_t delta);

  // flush_all: with delay <= 0 everything stored so far goes at once;
  // otherwise everything stored until then goes at that time.
  void flush_all(std::int64_t delay);

  bool item_size_ok(std::size_t key_len, std::size_t value_len) const {
    return Item::total_size(key_len, value_len) <= config_.max_item_size;
  }

  StoreCounters counters() const;
  const StoreConfig& config() const { return config_; }
  // Seconds since the store's epoch, as items record them.
  RelTime rel_now() const;
  // memcached's realtime(): a protocol exptime to store time.
  RelTime to_rel_time(std::int64_t exptime) const;

 private:
  struct Stripe;
  Stripe& stripe_for(std::size_t hash) const;
  bool is_live_locked(const Item* it, RelTime now, LookupStatus* why) const;
  Item* find_locked(Stripe& s, std::string_view key, std::size_t hash, RelTime now,
                    LookupStatus* why);
  void link_locked(Stripe& s, Item* it, RelTime now);
  void unlink_locked(Stripe& s, Item* it, std::size_t hash);
  void replace_locked(Stripe& s, Item* old_it, Item* new_it, std::size_t hash, RelTime now);
  std::uint64_t next_cas() { return cas_counter_.fetch_add(1, std::memory_order_relaxed) + 1; }

  StoreConfig config_;
  const Clock& clock_;
  std::int64_t epoch_;  // Unix time of RelTime 0
  std::size_t stripe_mask_;
  std::unique_ptr<Stripe[]> stripes_;
  std::atomic<std::uint64_t> cas_counter_{0};
  std::atomic<RelTime> oldest_live_{0};
  std::atomic<std::uint64_t> oldest_cas_{0};
};

}  // namespace memcoro::store
