#pragma once
// The item store: a lock-striped hash index over reference-counted items
// that live in slab chunks, with a segmented LRU per slab class.
//
// Lock rules (all of them):
//  * The index is split into stripes; a key belongs to the stripe chosen by
//    its hash. A stripe's mutex guards its hash set, its counters' writes,
//    an item's exptime, and the kLinked bit.
//  * Each slab class has an LRU mutex guarding its lists (Item::prev/next/lru)
//    and its counters. Order: stripe -> LRU -> allocator class. Code that holds
//    an LRU lock and needs a stripe (eviction) only try_locks it and moves on.
//  * Functions ending in _locked expect the stripe lock to be held.
//  * No function allocates item memory while holding a stripe lock: the
//    allocator may evict, and eviction needs stripe locks.
//  * A reader takes a reference (Item::refcount) under the stripe lock and
//    reads key, value, flags and CAS after releasing it; those never change
//    while anyone but the index holds the item. A change that must alter a
//    referenced item links a new item in its place instead.
//  * Page moves are run by one thread at a time (move_mu_); they find a page's
//    items through the class's LRU (where every item is complete and linked)
//    and take a reference there before evicting them.
//  * The CAS counter and the flush marker are atomics, read without a lock.
//  * The callbacks of access(), link() and update() (but update's build)
//    run with the stripe lock held: they may change the item's exptime, CAS
//    and meta bits, and must take no store lock and allocate nothing.
#include <absl/functional/function_ref.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "memcoro/memory/slab_allocator.hpp"
#include "memcoro/stats/store_counters.hpp"
#include "memcoro/store/clock.hpp"
#include "memcoro/store/item.hpp"

namespace memcoro::store {

// Why a new item could not be made or kept (allocate), or what a write
// command did (exec's rules, which are built on this store's core).
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

struct GetResult {
  ItemRef item;
  LookupStatus status = LookupStatus::miss;
  std::uint8_t cls = 0;             // slab class of the item found
  Segment segment = Segment::none;  // its LRU segment when found (get, access)
  bool created = false;             // access() made the item (a miss with Vivify)
};

struct Outcome {
  LookupStatus status = LookupStatus::miss;
  std::uint8_t cls = 0;
};

// memcached's defaults, for what builds a store without the settings (the
// fuzzer, tests, benchmarks); the server builds it from config::Settings,
// and memcoro does not compile if these differ from the settings' defaults
// (apps/memcoro/store_wiring.cpp).
struct StoreConfig {
  std::size_t memory_limit = 64u << 20;  // bytes of slab pages
  std::size_t max_item_size = 1u << 20;  // header + key + value + "\r\n"
  std::size_t chunk_size = 48;           // memcached's -n: key + value + flags in class 1
  double growth_factor = 1.25;
  bool evictions = true;  // false: memcached's -M
  unsigned automove = 1;  // 0 off, 1 on, 2 aggressive
  bool lru_crawler = true;
  unsigned hot_pct = 20;      // share of a class's items in HOT
  unsigned warm_pct = 40;     // and in WARM
  std::size_t stripes = 256;  // rounded up to a power of two
  std::size_t reserve = 0;    // address space; see SlabConfig
  // Warm restart: item memory in this file (see SlabConfig and
  // warm_restart.hpp); its contents kept for restore() when set.
  std::string memory_file;
  bool keep_memory_file = false;
};

// What the store counts of itself, for the general `stats` report (declared
// in lib/stats, which the report is written from).
using StoreCounters = stats::StoreCounters;

// `stats items` for one class.
struct ClassItemStats {
  unsigned cls = 0;
  std::uint64_t number = 0, number_hot = 0, number_warm = 0, number_cold = 0;
  std::uint64_t age_hot = 0, age_warm = 0, age = 0;
  std::uint64_t mem_requested = 0;
  std::uint64_t evicted = 0, evicted_nonzero = 0, evicted_time = 0, outofmemory = 0;
  std::uint64_t tailrepairs = 0, reclaimed = 0, expired_unfetched = 0, evicted_unfetched = 0;
  std::uint64_t evicted_active = 0, crawler_reclaimed = 0, crawler_items_checked = 0;
  std::uint64_t moves_to_cold = 0, moves_to_warm = 0, moves_within_lru = 0;
  std::uint64_t lrutail_reflocked = 0, direct_reclaims = 0;
};

// One line of `stats cachedump` / `lru_crawler metadump`.
struct ItemInfo {
  std::string key;
  std::uint32_t value_len = 0;
  std::int64_t exptime = 0;      // Unix time, 0: never
  std::int64_t last_access = 0;  // Unix time
  std::uint64_t cas = 0;
  bool fetched = false;
  bool key_binary = false;  // stored with a base64 key (kKeyBinary)
  unsigned cls = 0;
  std::size_t total_size = 0;
};

// Told of each live item evicted from an LRU tail (memcached's `watch
// evictions`), with the class's LRU lock and the item's stripe lock held:
// it may read the item, and must take no store lock.
class EvictionObserver {
 public:
  // Checked first, so that an observer nobody needs costs one load.
  virtual bool wanted() const = 0;
  virtual void evicted(const Item& it, RelTime now) = 0;

 protected:
  ~EvictionObserver() = default;
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
  Outcome touch(std::string_view key, std::int64_t exptime);
  Outcome remove(std::string_view key);

  // --- the transactional core: the building blocks of every write ------
  // (The rules of set/add/replace/cas, append/prepend, incr/decr and the
  // meta commands live in exec, which builds them from these.)

  // A new, unlinked item for key with room for value_len bytes, which the
  // caller fills (value_data()); error says why there is none (too_large,
  // no_memory). exptime is store time (to_rel_time()).
  struct Allocation {
    ItemRef item;
    StoreStatus error = StoreStatus::stored;
  };
  Allocation allocate(std::string_view key, std::uint32_t flags, RelTime exptime,
                      std::size_t value_len);
  // allocate() with the value copied in.
  Allocation make(std::string_view key, std::uint32_t flags, RelTime exptime,
                  std::string_view value);

  // What a change found under the key and what it left there.
  struct Change {
    LookupStatus found = LookupStatus::miss;  // the item it found
    std::uint8_t cls = 0;                     // that item's class; the new item's once linked
    bool linked = false;                      // a new item took the key
    std::uint64_t cas = 0;                    // the new item's CAS (after on_linked)
    std::uint32_t size = 0;                   // its value length
  };
  // Runs under the stripe lock once a new item is linked: it may set the
  // item's CAS, exptime and kStale/kTokenSent/kKeyBinary bits.
  using OnLinked = absl::FunctionRef<void(Item& fresh)>;

  // `fresh` (from allocate) takes the key's place if admit(cur, fresh, now)
  // says so, under the stripe lock (cur: the live item, or nullptr); admit
  // may change fresh's exptime. Not admitted, fresh is freed.
  using Admit = absl::FunctionRef<bool(const Item* cur, Item& fresh, RelTime now)>;
  Change link(ItemRef fresh, Admit admit, OnLinked on_linked);

  // The one copy-on-write sequence, for every change whose result depends
  // on the item it replaces. Under the stripe lock inspect(cur, why, now)
  // sees the live item (nullptr on a miss, why saying which) and decides:
  // done (nothing more, or a change made in place), unlink, or build: then
  // build(old) makes the new item unlocked, from a reference to the item
  // inspect saw (nullptr after a miss); an empty result ends the change.
  // The new item takes the key only if old is still the live item (else
  // everything starts again), and on_linked runs, still under the lock.
  enum class Step : std::uint8_t { done, build, unlink };
  using Inspect = absl::FunctionRef<Step(Item* cur, LookupStatus why, RelTime now)>;
  using Build = absl::FunctionRef<ItemRef(const Item* old)>;
  Change update(std::string_view key, Inspect inspect, Build build, OnLinked on_linked);

  // A miss that access() turns into an empty item (mg N): its exptime,
  // and the CAS it gets instead of the next one (mg E).
  struct Vivify {
    std::int64_t exptime = 0;
    std::optional<std::uint64_t> cas;
  };
  // Sees the live item under key under its stripe lock (the rules that read
  // and change it live in exec): `fn(item, now, created)` may change the
  // item's exptime, CAS and kStale/kTokenSent bits, and returns whether the
  // read counts as an access (bumps the item in its LRU). With `vivify`, a
  // miss first creates an empty item (flags 0). fn is not called on a miss.
  using AccessFn = absl::FunctionRef<bool(Item& item, RelTime now, bool created)>;
  GetResult access(std::string_view key, const Vivify* vivify, AccessFn fn);
  // A CAS for an item changed in place (access()'s or inspect's callback).
  std::uint64_t new_cas() { return next_cas(); }
  // me: the item's metadata without touching it.
  std::optional<ItemInfo> peek(std::string_view key);

  // flush_all: with delay <= 0 everything stored so far goes at once;
  // otherwise everything stored until then goes at that time.
  void flush_all(std::int64_t delay);

  bool item_size_ok(std::size_t key_len, std::size_t value_len) const {
    return Item::total_size(key_len, value_len) <= config_.max_item_size;
  }

  // --- memory management ---------------------------------------------------
  // slabs reassign: move one page from src to dst (finished in the background).
  memory::SlabAllocator::MoveStatus reassign(unsigned src, unsigned dst);
  // slabs reassign -1 <dst>: from the class with the oldest items among
  // those with a page to spare (bad_class if none has one).
  memory::SlabAllocator::MoveStatus reassign_any(unsigned dst);
  void set_automove(unsigned level) { automove_.store(level, std::memory_order_relaxed); }
  unsigned automove() const { return automove_.load(std::memory_order_relaxed); }
  void set_lru_crawler(bool on) { lru_crawler_.store(on, std::memory_order_relaxed); }
  bool lru_crawler() const { return lru_crawler_.load(std::memory_order_relaxed); }
  // The HOT and WARM shares of each class's LRU, in percent.
  void set_lru_segments(unsigned hot_pct, unsigned warm_pct) {
    hot_pct_.store(hot_pct, std::memory_order_relaxed);
    warm_pct_.store(warm_pct, std::memory_order_relaxed);
  }
  unsigned hot_pct() const { return hot_pct_.load(std::memory_order_relaxed); }
  unsigned warm_pct() const { return warm_pct_.load(std::memory_order_relaxed); }
  // cache_memlimit: grows at once; shrinking evicts until the pages fit.
  bool set_memory_limit(std::size_t bytes);
  std::size_t memory_limit() const { return slabs_.limit(); }
  // The highest limit the reserved address range can serve.
  std::size_t max_memory_limit() const { return slabs_.max_limit(); }
  // Background work, to be called about ten times a second: finishes page
  // moves, shrinks to the limit, automoves pages, crawls for expired items.
  void maintenance_tick();
  // One full crawl for expired and flushed items now; returns how many.
  std::size_t crawl_all();

  // --- views ---------------------------------------------------------------
  StoreCounters counters() const;
  std::vector<ClassItemStats> item_stats() const;  // classes with items
  const memory::SlabAllocator& slabs() const { return slabs_; }
  memory::SlabAllocator& slabs() { return slabs_; }
  // Stored item sizes (key + value + header) in 32-byte buckets: size -> count.
  // Walked on demand, so always available; `stats sizes_disable` only hides
  // the view, as memcached's switch does (memcoro has nothing to turn off).
  std::vector<std::pair<std::size_t, std::uint64_t>> size_histogram() const;
  bool sizes_shown() const { return sizes_shown_.load(std::memory_order_relaxed); }
  void show_sizes(bool on) { sizes_shown_.store(on, std::memory_order_relaxed); }
  // Items of one class, most recently used first (at most `limit`; 0: all),
  // as `stats cachedump` lists them: without items whose key came base64
  // encoded, which memcached leaves out so as not to print binary keys.
  std::vector<ItemInfo> class_items(unsigned cls, unsigned limit) const;
  // Every item, in index order, optionally of the given classes only.
  std::vector<ItemInfo> all_items(const std::vector<unsigned>& classes) const;

  // --- warm restart (warm_restart.hpp) -----------------------------------
  // What item memory does not hold: the clock's epoch, the CAS counter, the
  // flush marker, the pages in use and the LRU ends. Only while nothing
  // else uses the store.
  std::string snapshot() const;
  // Over a kept memory file, before anything else uses the store: takes the
  // items back from item memory as `snapshot` describes it and drops those
  // expired or flushed meanwhile. "" or why not; after a refusal the store
  // must be thrown away (its item memory is in an unknown state).
  struct Restored {
    std::uint64_t items = 0;    // live and back in the index
    std::uint64_t dropped = 0;  // expired or flushed while down
  };
  std::string restore(std::string_view snapshot, Restored& out);

  // Null: none. The observer must outlive the store or be unset first.
  void set_eviction_observer(EvictionObserver* o) {
    eviction_observer_.store(o, std::memory_order_release);
  }

  const StoreConfig& config() const { return config_; }
  // Seconds since the store's epoch, as items record them.
  RelTime rel_now() const;
  // The flush_all marker: items last stored before it are invalid (0: none).
  RelTime oldest_live() const { return oldest_live_.load(std::memory_order_relaxed); }
  std::int64_t to_unix(RelTime t) const { return epoch_ + t; }
  // memcached's realtime(): a protocol exptime to store time.
  RelTime to_rel_time(std::int64_t exptime) const;

 public:
  // A key and its hash, computed once per request: the hash picks the stripe
  // and is the one the stripe's index uses.
  struct HashedKey {
    std::string_view key;
    std::size_t hash;
  };

 private:
  static HashedKey hashed(std::string_view key);
  struct Stripe;
  struct Lru;
  struct Move;

  std::size_t stripe_index(std::size_t hash) const;
  Stripe& stripe_for(std::size_t hash) const;
  Item* item(Handle h) const { return static_cast<Item*>(slabs_.pointer(h)); }
  ItemRef adopt(Item* it) { return ItemRef::adopt(it, &slabs_); }
  ItemRef share(Item* it) { return ItemRef::share(it, &slabs_); }

  // Index and LRU.
  bool is_live(const Item* it, RelTime now, LookupStatus* why) const;
  Item* find_locked(Stripe& s, const HashedKey& key, RelTime now, LookupStatus* why);
  void link_locked(Stripe& s, Item* it, RelTime now);
  // Drops the index's reference (the item is freed if nobody else has it).
  void unlink_locked(Stripe& s, Item* it);
  // The item under old_it's key becomes it (same index slot).
  void replace_locked(Stripe& s, const HashedKey& key, Item* old_it, Item* it, RelTime now);
  void touch_access_locked(Item* it, RelTime now);
  // Links fresh in cur's place (or anew) and fills in what the change left.
  void place_locked(Stripe& s, const HashedKey& key, Item* cur, Item* fresh, RelTime now,
                    OnLinked on_linked, Change& change);
  void lru_push(Lru& l, Segment seg, Item* it);
  void lru_remove(Lru& l, Item* it);
  void lru_balance(Lru& l);

  // Allocation and reclaiming memory.
  Item* allocate_item(std::string_view key, std::uint32_t flags, RelTime exptime,
                      std::size_t value_len, StoreStatus* error);
  bool evict_one(unsigned cls);
  bool steal_page_for(unsigned cls);
  bool process_move();
  // Takes an item of the moving page off it: rescued into another chunk of
  // its class, or dropped; false if it is in use (try again later).
  bool clear_for_move(ItemRef ref, RelTime now);
  unsigned oldest_class(unsigned except, std::size_t min_pages) const;
  RelTime tail_age(unsigned cls, RelTime now) const;
  std::size_t crawl_stripes(std::size_t first, std::size_t count);
  void automove_step();

  std::uint64_t next_cas() { return cas_counter_.fetch_add(1, std::memory_order_relaxed) + 1; }

  StoreConfig config_;
  const Clock& clock_;
  std::int64_t epoch_;  // Unix time of RelTime 0
  mutable memory::SlabAllocator slabs_;
  std::size_t stripe_mask_;
  std::unique_ptr<Stripe[]> stripes_;
  std::unique_ptr<Lru[]> lrus_;  // by slab class
  std::atomic<std::uint64_t> cas_counter_{0};
  std::atomic<RelTime> oldest_live_{0};
  std::atomic<unsigned> automove_;
  std::atomic<bool> lru_crawler_;
  std::atomic<unsigned> hot_pct_;
  std::atomic<unsigned> warm_pct_;

  std::mutex move_mu_;  // one thread runs page moves at a time
  std::atomic<std::uint64_t> slabs_moved_{0};
  std::atomic<std::uint64_t> reassign_evictions_{0};
  std::atomic<std::uint64_t> reassign_rescues_{0};
  std::atomic<std::uint64_t> reassign_busy_{0};
  std::atomic<std::uint64_t> crawler_starts_{0};
  std::atomic<unsigned> crawlers_running_{0};
  std::atomic<bool> sizes_shown_{true};
  std::atomic<EvictionObserver*> eviction_observer_{nullptr};
  // maintenance_tick() state (only its caller touches these)
  std::size_t crawl_cursor_ = 0;
  std::vector<std::uint64_t> last_evicted_;
  std::vector<std::uint32_t> free_streak_;  // automove checks with spare pages, per class
  std::int64_t last_automove_ = 0;
};

}  // namespace memcoro::store
