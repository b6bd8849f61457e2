#pragma once
// One stored item: header, key, value and a trailing "\r\n" in one slab
// chunk, so that a get reply can send the value (with its line end)
// straight from item memory.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "memcoro/memory/slab_allocator.hpp"

namespace memcoro::store {

// Times inside the store are seconds since the store's epoch (a little
// before it started), as memcached's rel_time_t: 4 bytes instead of 8.
using RelTime = std::uint32_t;
using memory::Handle;

// Item::access bits. LINKED: in the index (changed under the stripe lock).
// FETCHED, ACTIVE: read at least once / twice since the LRU last moved it.
inline constexpr std::uint8_t kLinked = 1;
inline constexpr std::uint8_t kFetched = 2;
inline constexpr std::uint8_t kActive = 4;
// Meta protocol: marked stale by `md I` / `ms I`; a recache token (W) was sent.
inline constexpr std::uint8_t kStale = 8;
inline constexpr std::uint8_t kTokenSent = 16;
// Stored by `ms` with a base64 key (flag b): mg and me show the key encoded,
// cachedump skips it (memcached's ITEM_KEY_BINARY). A new item made from
// this one (append, a longer incr) does not keep it, as in memcached.
inline constexpr std::uint8_t kKeyBinary = 32;

// Item::lru values (written under the class's LRU lock; a reader without
// that lock, counting a hit by segment, gets a recent value).
enum class Segment : std::uint8_t { hot = 0, warm = 1, cold = 2, none = 3 };

struct Item {
  Handle prev;  // LRU neighbours (class LRU lock)
  Handle next;
  std::atomic<std::uint32_t> refcount;  // the index holds one reference
  std::uint32_t flags;                  // client flags
  std::atomic<std::uint64_t> cas;       // written under the stripe lock
  std::atomic<RelTime> exptime;         // 0: never (written under the stripe lock)
  std::atomic<RelTime> time;            // last access, updated at most once a minute
  std::uint32_t value_len;              // value bytes, without the "\r\n"
  std::uint8_t key_len;
  std::uint8_t cls;                  // slab class
  std::atomic<std::uint8_t> access;  // kLinked | kFetched | kActive
  std::atomic<Segment> lru;
  // followed by: key, value, "\r\n"

  char* bytes() { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const { return {bytes(), key_len}; }
  std::string_view value() const { return {bytes() + key_len, value_len}; }
  // The value followed by "\r\n", as a get reply sends it.
  std::string_view value_line() const { return {bytes() + key_len, value_len + std::size_t{2}}; }
  char* value_data() { return bytes() + key_len; }
  std::size_t total_size() const { return total_size(key_len, value_len); }
  bool has(std::uint8_t bit) const { return (access.load(std::memory_order_relaxed) & bit) != 0; }
  std::uint64_t cas_value() const { return cas.load(std::memory_order_relaxed); }

  static constexpr std::size_t total_size(std::size_t key_len, std::size_t value_len) {
    return sizeof(Item) + key_len + value_len + 2;
  }
};
static_assert(sizeof(Item) == 40, "the item header is on the hot path and in every item");

// An owning reference to an item; the chunk goes back to the allocator when
// the last reference does.
class ItemRef {
 public:
  ItemRef() = default;
  // Adopts a reference the caller already counted.
  static ItemRef adopt(Item* it, memory::SlabAllocator* slabs) {
    ItemRef r;
    r.it_ = it;
    r.slabs_ = slabs;
    return r;
  }
  // Takes a new reference.
  static ItemRef share(Item* it, memory::SlabAllocator* slabs) {
    it->refcount.fetch_add(1, std::memory_order_relaxed);
    return adopt(it, slabs);
  }
  ItemRef(const ItemRef&) = delete;
  ItemRef& operator=(const ItemRef&) = delete;
  ItemRef(ItemRef&& o) noexcept
      : it_(std::exchange(o.it_, nullptr)), slabs_(std::exchange(o.slabs_, nullptr)) {}
  ItemRef& operator=(ItemRef&& o) noexcept {
    if (this != &o) {
      reset();
      it_ = std::exchange(o.it_, nullptr);
      slabs_ = std::exchange(o.slabs_, nullptr);
    }
    return *this;
  }
  ~ItemRef() { reset(); }

  void reset() {
    if (it_ != nullptr && it_->refcount.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      slabs_->free(it_);
    }
    it_ = nullptr;
  }
  Item* get() const { return it_; }
  // Gives up ownership of the reference without dropping it.
  Item* release() { return std::exchange(it_, nullptr); }
  // The value and its "\r\n", writable: for an item not yet linked.
  char* value_line_data() { return it_->value_data(); }
  Item* operator->() const { return it_; }
  explicit operator bool() const { return it_ != nullptr; }

 private:
  Item* it_ = nullptr;
  memory::SlabAllocator* slabs_ = nullptr;
};

}  // namespace memcoro::store
