#pragma once
// One stored item: header, key, value and a trailing "\r\n" in a single
// allocation, so that a get reply can send the value (with its line end)
// straight from item memory.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace memcoro::store {

// Times inside the store are seconds since the store's epoch (a little
// before it started), as memcached's rel_time_t: 4 bytes instead of 8.
using RelTime = std::uint32_t;

struct Item {
  std::atomic<std::uint32_t> refcount;  // the index holds one reference
  std::uint32_t flags;                  // client flags
  RelTime exptime;                      // 0: never; changed only under the stripe lock
  RelTime time;                         // when stored (flush_all compares it)
  std::uint64_t cas;
  std::uint32_t value_len;  // value bytes, without the "\r\n"
  std::uint8_t key_len;
  std::uint8_t reserved[3];
  // followed by: key, value, "\r\n"

  char* bytes() { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const { return {bytes(), key_len}; }
  std::string_view value() const { return {bytes() + key_len, value_len}; }
  // The value followed by "\r\n", as a get reply sends it.
  std::string_view value_line() const { return {bytes() + key_len, value_len + std::size_t{2}}; }
  char* value_data() { return bytes() + key_len; }
  std::size_t total_size() const { return total_size(key_len, value_len); }

  static constexpr std::size_t total_size(std::size_t key_len, std::size_t value_len) {
    return sizeof(Item) + key_len + value_len + 2;
  }

  // A new item with refcount 1, key copied and the "\r\n" written; the
  // caller fills the value. nullptr if memory cannot be had.
  static Item* create(std::string_view key, std::uint32_t flags, RelTime exptime,
                      std::uint32_t value_len);
  static void destroy(Item* it);
};
static_assert(sizeof(Item) == 32, "the item header is on the hot path and in every item");

// An owning reference to an item; the item is freed when the last one goes.
class ItemRef {
 public:
  ItemRef() = default;
  // Adopts a reference the caller already counted.
  static ItemRef adopt(Item* it) {
    ItemRef r;
    r.it_ = it;
    return r;
  }
  // Takes a new reference.
  static ItemRef share(Item* it) {
    it->refcount.fetch_add(1, std::memory_order_relaxed);
    return adopt(it);
  }
  ItemRef(const ItemRef&) = delete;
  ItemRef& operator=(const ItemRef&) = delete;
  ItemRef(ItemRef&& o) noexcept : it_(std::exchange(o.it_, nullptr)) {}
  ItemRef& operator=(ItemRef&& o) noexcept {
    if (this != &o) {
      reset();
      it_ = std::exchange(o.it_, nullptr);
    }
    return *this;
  }
  ~ItemRef() { reset(); }

  void reset() {
    if (it_ != nullptr && it_->refcount.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      Item::destroy(it_);
    }
    it_ = nullptr;
  }
  Item* get() const { return it_; }
  Item* operator->() const { return it_; }
  explicit operator bool() const { return it_ != nullptr; }

 private:
  Item* it_ = nullptr;
};

}  // namespace memcoro::store
