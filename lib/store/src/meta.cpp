#include <charconv>
#include <cstring>
#include <utility>

#include "store_internal.hpp"

namespace memcoro::store {

Item* Store::make_item(std::string_view key, std::uint32_t flags, RelTime exptime,
                       std::string_view value, StoreStatus* error) {
  Item* it = allocate(key, flags, exptime, value.size(), error);
  if (it != nullptr && !value.empty()) std::memcpy(it->value_data(), value.data(), value.size());
  return it;
}

GetResult Store::access(std::string_view key, const Vivify* vivify, AccessFn fn) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  GetResult r;
  Item* fresh = nullptr;  // built unlocked when vivify may need it
  for (int pass = 0; pass < 2; ++pass) {
    {
      std::lock_guard lock(s.mu);
      const RelTime now = rel_now();
      Item* it = find_locked(s, hk, now, &r.status);
      if (it == nullptr && fresh != nullptr) {
        fresh->exptime.store(to_rel_time(vivify->exptime), std::memory_order_relaxed);
        link_locked(s, fresh, now);
        if (vivify->cas) fresh->cas.store(*vivify->cas, std::memory_order_relaxed);
        it = std::exchange(fresh, nullptr);
        r.created = true;
        r.status = LookupStatus::hit;
      }
      if (it != nullptr) {
        r.cls = it->cls;
        r.segment = it->lru.load(std::memory_order_relaxed);
        if (fn(*it, now, r.created)) touch_access_locked(it, now);
        r.item = share(it);
        break;
      }
      if (vivify == nullptr || pass == 1) break;
    }
    // A miss to vivify: build the empty item unlocked, then look again.
    StoreStatus error;
    fresh = make_item(key, 0, 0, {}, &error);
    if (fresh == nullptr) break;
  }
  if (fresh != nullptr) adopt(fresh).reset();
  return r;
}

StoreStatus Store::meta_store(std::string_view key, std::uint32_t flags, std::int64_t exptime,
                              std::string_view value, const MetaSetOptions& given,
                              std::uint64_t* cas_out, Outcome* outcome, std::uint32_t* size_out) {
  MetaSetOptions opts = given;
  // memcached: a CAS turns set and replace into cas.
  if (opts.has_cas && (opts.mode == StoreMode::set || opts.mode == StoreMode::replace)) {
    opts.mode = StoreMode::cas;
  }
  // No stale value may survive a failed store.
  return store_value(key, flags, exptime, value, opts, /*drop_on_failure=*/true, cas_out, outcome,
                     size_out);
}

MetaDeleteStatus Store::meta_delete(std::string_view key, const MetaDeleteOptions& opts,
                                    Outcome* outcome) {
  Outcome local;
  Outcome& out = outcome != nullptr ? *outcome : local;
  MetaDeleteStatus status = MetaDeleteStatus::deleted;
  copy_on_write(
      hashed(key),
      [&](Item* it, LookupStatus why, RelTime) {
        out.status = why;
        if (it == nullptr) {
          status = MetaDeleteStatus::not_found;
          return Step::done;
        }
        out.cls = it->cls;
        if (opts.has_cas && it->cas_value() != opts.cas) {
          status = MetaDeleteStatus::exists;
          return Step::done;
        }
        // x: replace the item with an empty one that keeps its key, flags and TTL.
        return opts.remove_value ? Step::build : Step::unlink;
      },
      [&](const Item* old) {
        StoreStatus error;
        Item* fresh =
            make_item(key, old->flags, old->exptime.load(std::memory_order_relaxed), {}, &error);
        if (fresh == nullptr) status = MetaDeleteStatus::not_found;
        return fresh;
      },
      [&](Item* fresh) {
        if (opts.has_new_cas) fresh->cas.store(opts.new_cas, std::memory_order_relaxed);
      });
  return status;
}

}  // namespace memcoro::store
