#pragma once
// The store's private parts, shared by its files: the index's hashing, the
// stripe and LRU structures, and the tuning constants.
#include <absl/hash/hash.h>

#include <atomic>
#include <boost/unordered/unordered_flat_set.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <string_view>

#include "memcoro/store/store.hpp"

namespace memcoro::store {
using memory::SlabAllocator;

// memcached: exptimes above 30 days are absolute Unix times.
constexpr std::int64_t kMaxRelativeExptime = 60 * 60 * 24 * 30;
// memcached's ITEM_UPDATE_INTERVAL: the last-access time moves at most this often.
constexpr RelTime kUpdateInterval = 60;
// Items looked at from an LRU tail before giving up on evicting.
constexpr int kEvictTries = 10;
constexpr unsigned kSegments = 3;
// Items a page move examines per hold of a class's LRU lock.
constexpr unsigned kMoveSlice = 256;
// Automove checks (one a second) a class must keep spare pages before it
// gives one back; memcached's slab_automove_window is 30 too.
constexpr unsigned kReclaimWindow = 30;

inline std::size_t hash_key(std::string_view key) {
  return absl::Hash<std::string_view>{}(key);
}

// A handle as the index keeps it: 5 bytes (handles use 36 bits), so that a
// slot costs one byte more than a 32-bit handle, not four.
class StoredHandle {
 public:
  StoredHandle(Handle h) { std::memcpy(bytes_, &h, sizeof bytes_); }  // NOLINT: implicit
  operator Handle() const {                                           // NOLINT: implicit
    Handle h = 0;
    std::memcpy(&h, bytes_, sizeof bytes_);
    return h;
  }

 private:
  unsigned char bytes_[5];
};
static_assert(sizeof(StoredHandle) == 5 && memory::kHandleBits <= 40);

// The index stores 5-byte item handles and is searched by key, so the key is
// kept once, in the item. A lookup brings the key's hash along: the hash that
// chose the stripe is the one the index uses (one hash per request).
// A handle whose hash the inserter already knows (a warm restart inserts
// millions without reading their keys again); handle 0 names no item.
struct KnownHash {
  Handle handle = 0;
  std::size_t hash = 0;
};
struct HandleHash {
  using is_transparent = void;
  const SlabAllocator* slabs = nullptr;
  const KnownHash* known = nullptr;  // the stripe's: written under its lock
  std::size_t operator()(const Store::HashedKey& k) const { return k.hash; }
  std::size_t operator()(Handle h) const {
    if (known != nullptr && h == known->handle) return known->hash;
    return hash_key(static_cast<const Item*>(slabs->pointer(h))->key());
  }
};
struct HandleEq {
  using is_transparent = void;
  const SlabAllocator* slabs = nullptr;
  std::string_view key(Handle h) const {
    return static_cast<const Item*>(slabs->pointer(h))->key();
  }
  bool operator()(Handle a, Handle b) const { return a == b; }
  bool operator()(const Store::HashedKey& a, Handle b) const { return a.key == key(b); }
  bool operator()(Handle a, const Store::HashedKey& b) const { return key(a) == b.key; }
};
using Index = boost::unordered_flat_set<StoredHandle, HandleHash, HandleEq>;

// Counter written under a lock and read without it.
struct LockedCounter {
  std::atomic<std::uint64_t> v{0};
  void add(std::int64_t d) {
    v.store(v.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(d),
            std::memory_order_relaxed);
  }
  std::uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

// The one item initialiser: a fresh, unlinked item in `chunk` with one
// reference (its creator's), no CAS or access time yet, the key copied in
// and the "\r\n" after the value; the value bytes are the caller's to fill.
inline Item* init_item(void* chunk, unsigned cls, std::string_view key, std::uint32_t flags,
                       RelTime exptime, std::size_t value_len) {
  Item* it = new (chunk) Item;
  std::memset(it->links, 0, sizeof it->links);
  it->refcount.store(1, std::memory_order_relaxed);
  it->flags = flags;
  it->cas.store(0, std::memory_order_relaxed);
  it->exptime.store(exptime, std::memory_order_relaxed);
  it->time.store(0, std::memory_order_relaxed);
  it->value_len = static_cast<std::uint32_t>(value_len);
  it->key_len = static_cast<std::uint8_t>(key.size());
  it->access.store(0, std::memory_order_relaxed);
  it->set_place(cls, Segment::none);
  std::memcpy(it->bytes(), key.data(), key.size());
  char* end = it->value_data() + value_len;
  end[0] = '\r';
  end[1] = '\n';
  return it;
}

// One line of `stats cachedump`, `lru_crawler metadump` and `me` (views.cpp).
ItemInfo info_of(const Item* it, const Store& store);

struct alignas(64) Store::Stripe {
  std::mutex mu;
  KnownHash known;  // before index, whose hasher points at it
  Index index;
  LockedCounter items;
  LockedCounter bytes;
  LockedCounter total_items;
};

struct alignas(64) Store::Lru {
  memory::SpinLock mu;
  Handle head[kSegments] = {0, 0, 0};
  Handle tail[kSegments] = {0, 0, 0};
  std::uint64_t count[kSegments] = {0, 0, 0};
  std::uint64_t requested = 0;  // bytes of the items in this class
  std::uint64_t evicted = 0, evicted_nonzero = 0, evicted_time = 0, outofmemory = 0;
  std::uint64_t reclaimed = 0, expired_unfetched = 0, evicted_unfetched = 0;
  std::uint64_t evicted_active = 0, crawler_reclaimed = 0, crawler_items_checked = 0;
  std::uint64_t moves_to_cold = 0, moves_to_warm = 0, moves_within_lru = 0;
  std::uint64_t lrutail_reflocked = 0, direct_reclaims = 0;
  std::uint64_t total() const { return count[0] + count[1] + count[2]; }
};

}  // namespace memcoro::store
