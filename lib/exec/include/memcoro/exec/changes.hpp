#pragma once
// The rules of the commands that change items, text and meta alike, built
// from the store's core (allocate, link, update), as memcached keeps them in
// its protocol files over small blocks of its items layer: which mode
// stores, what a CAS compares, stale values (I) and win tokens, N's vivify,
// E's CAS, b's key mark, how append/prepend and incr/decr make the new item,
// md's x and I. The text commands pass the few meta flags they have.
#include <cstdint>
#include <string_view>

#include "memcoro/protocol/command.hpp"
#include "memcoro/store/store.hpp"

namespace memcoro::exec {

enum class StoreMode : std::uint8_t { set, add, replace, append, prepend, cas };

// What a write did.
struct Written {
  store::StoreStatus status = store::StoreStatus::not_stored;
  store::LookupStatus found = store::LookupStatus::miss;  // what was under the key
  std::uint8_t cls = 0;                                   // its class, or the stored item's
  std::uint64_t cas = 0;                                  // the stored item's CAS
  std::uint32_t size = 0;  // its value length (the whole new one, after an append)
};

// set/add/replace/cas/append/prepend with the whole value. From m: C (a CAS
// turns set and replace into cas), I, E, b, and N for append/prepend.
// drop_on_failure: when no item can be made (too large, out of memory), the
// old value goes too, so that no stale value survives a failed write.
Written write_value(store::Store& st, StoreMode mode, std::string_view key, std::uint32_t flags,
                    std::int64_t exptime, std::string_view value, const protocol::MetaFlags& m,
                    bool drop_on_failure);
// The same for an item the caller allocated and filled (a large value
// received in place). Not for append/prepend.
Written link_value(store::Store& st, StoreMode mode, store::ItemRef fresh,
                   const protocol::MetaFlags& m);

// incr/decr and ma. From m: C, N with J (the initial value), T, E.
struct Counted {
  enum class Status : std::uint8_t { ok, not_found, exists, non_numeric, no_memory };
  Status status = Status::not_found;
  std::uint64_t value = 0;
  std::uint64_t cas = 0;
  store::RelTime exptime = 0;
  store::RelTime now = 0;
  std::uint8_t cls = 0;
  bool created = false;  // N made the item
};
Counted change_number(store::Store& st, std::string_view key, bool incr, std::uint64_t delta,
                      const protocol::MetaFlags& m);

// md. From m: C, x (keep the item, drop its value), I (keep it as a stale
// value, T setting its TTL), E.
struct Deleted {
  enum class Status : std::uint8_t { deleted, not_found, exists };
  Status status = Status::not_found;
  std::uint8_t cls = 0;
};
Deleted delete_item(store::Store& st, std::string_view key, const protocol::MetaFlags& m);

}  // namespace memcoro::exec
