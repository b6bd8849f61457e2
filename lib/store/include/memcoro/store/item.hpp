#pragma once
// One stored item: header, key, value and a trailing "\r\n" in one slab
// chunk, so that a get reply can send the value (with its line end)
// straight from item memory.
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

#include "memcoro/memory/slab_allocator.hpp"

namespace memcoro::store {

// Times inside the store are seconds since the store's epoch (a little
// before it started), as memcached's rel_time_t: 4 bytes instead of 8.
using RelTime = std::uint32_t;
using memory::Handle;
using memory::kHandleBits;

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

// The fields are ordered so that the header packs into 40 bytes: CAS first
// (a free chunk's free-list link overwrites its first 8 bytes, never the
// access bits a warm restart reads), the LRU links last.
struct Item {
  std::atomic<std::uint64_t> cas;       // written under the stripe lock
  std::atomic<RelTime> exptime;         // 0: never (written under the stripe lock)
  std::atomic<RelTime> time;            // last access, updated at most once a minute
  std::uint32_t value_len;              // value bytes, without the "\r\n"
  std::uint32_t flags;                  // client flags
  std::atomic<std::uint32_t> refcount;  // the index holds one reference
  std::uint8_t key_len;
  std::atomic<std::uint8_t> access;  // kLinked | kFetched | kActive | ...
  // The slab class (low 6 bits, fixed) and the LRU segment (top 2 bits,
  // written under the class's LRU lock).
  std::atomic<std::uint8_t> place;
  // The LRU neighbours' handles, 36 bits each (class LRU lock): prev in the
  // low bits of the first 8 bytes, next in the rest.
  unsigned char links[9];
  // followed by: key, value, "\r\n"

  unsigned cls() const { return place.load(std::memory_order_relaxed) & kClassMask; }
  Segment segment() const {
    return static_cast<Segment>(place.load(std::memory_order_relaxed) >> kSegmentShift);
  }
  void set_place(unsigned c, Segment seg) {
    place.store(static_cast<std::uint8_t>(c | (static_cast<unsigned>(seg) << kSegmentShift)),
                std::memory_order_relaxed);
  }
  void set_segment(Segment seg) { set_place(cls(), seg); }

  Handle prev() const { return link_word() & kLinkMask; }
  Handle next() const { return (link_word() >> kHandleBits) | (Handle{links[8]} << kNextLowBits); }
  void set_prev(Handle h) { set_link_word((link_word() & ~kLinkMask) | h); }
  void set_next(Handle h) {
    set_link_word((link_word() & kLinkMask) | (h << kHandleBits));
    links[8] = static_cast<unsigned char>(h >> kNextLowBits);
  }

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

  static constexpr unsigned kClassMask = 0x3f;
  static constexpr unsigned kSegmentShift = 6;

 private:
  static constexpr Handle kLinkMask = (Handle{1} << kHandleBits) - 1;
  static constexpr unsigned kNextLowBits = 64 - kHandleBits;  // next's bits in the first word
  std::uint64_t link_word() const {
    std::uint64_t w;
    std::memcpy(&w, links, sizeof w);
    return w;
  }
  void set_link_word(std::uint64_t w) { std::memcpy(links, &w, sizeof w); }
};
static_assert(memory::kHandleBits == 36 && std::endian::native == std::endian::little,
              "Item::links packs two 36-bit handles into 9 bytes, little-endian");
static_assert(memory::SlabAllocator::kMaxClasses <= Item::kClassMask,
              "a class id fits in Item::place");
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
