#include <charconv>
#include <cstring>
#include <vector>

#include "store_internal.hpp"

namespace memcoro::store {

namespace {

bool parse_stored_number(std::string_view v, std::uint64_t& out) {
  // memcached's safe_strtoull over the stored value: leading whitespace,
  // digits, then whitespace (padding) or the end.
  std::size_t i = 0;
  auto is_space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  while (i < v.size() && is_space(v[i])) ++i;
  if (i < v.size() && v[i] == '+') ++i;
  const char* first = v.data() + i;
  const char* last = v.data() + v.size();
  auto [ptr, ec] = std::from_chars(first, last, out);
  if (ec != std::errc{} || ptr == first) return false;
  return ptr == last || is_space(*ptr);
}

}  // namespace

// incr/decr on a stored number, as memcached does it: incr wraps at 2^64,
// decr stops at 0. The result's digits go to `digits`; false if the value
// is not a number.
bool apply_delta(const Item* it, bool incr, std::uint64_t delta, std::uint64_t& value,
                 char (&digits)[24], std::size_t& len) {
  if (it->value_len == 0 || !parse_stored_number(it->value(), value)) return false;
  value = incr ? value + delta : (delta > value ? 0 : value - delta);
  len = static_cast<std::size_t>(std::to_chars(digits, digits + sizeof digits, value).ptr - digits);
  return true;
}

// Writes the digits over the item's value if they fit and nobody else holds
// the item; memcached pads a shorter number with spaces instead of
// shrinking the item, and so does this.
bool rewrite_number_in_place(Item* it, const char* digits, std::size_t len) {
  if (len > it->value_len || it->refcount.load(std::memory_order_acquire) != 1) return false;
  char* dst = it->value_data();
  std::memcpy(dst, digits, len);
  std::memset(dst + len, ' ', it->value_len - len);
  return true;
}

GetResult Store::get(std::string_view key) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  GetResult r;
  std::lock_guard lock(s.mu);
  const RelTime now = rel_now();
  Item* it = find_locked(s, hk, now, &r.status);
  if (it != nullptr) {
    touch_access_locked(it, now);
    r.cls = it->cls;
    r.segment = it->lru.load(std::memory_order_relaxed);
    r.item = share(it);
  }
  return r;
}

GetResult Store::get_and_touch(std::string_view key, std::int64_t exptime) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  const RelTime exp = to_rel_time(exptime);
  GetResult r;
  std::lock_guard lock(s.mu);
  const RelTime now = rel_now();
  Item* it = find_locked(s, hk, now, &r.status);
  if (it != nullptr) {
    it->exptime.store(exp, std::memory_order_relaxed);
    touch_access_locked(it, now);
    r.cls = it->cls;
    r.item = share(it);
  }
  return r;
}

Outcome Store::touch(std::string_view key, std::int64_t exptime) {
  GetResult r = get_and_touch(key, exptime);
  return {r.status, r.cls};
}

Outcome Store::remove(std::string_view key) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  Outcome o;
  std::lock_guard lock(s.mu);
  Item* it = find_locked(s, hk, rel_now(), &o.status);
  if (it != nullptr) {
    o.cls = it->cls;
    unlink_locked(s, it);
  }
  return o;
}

StoreStatus Store::store(StoreMode mode, std::string_view key, std::uint32_t flags,
                         std::int64_t exptime, std::string_view value, std::uint64_t cas_in,
                         std::uint64_t* cas_out, Outcome* outcome) {
  MetaSetOptions opts;
  opts.mode = mode;
  opts.cas = cas_in;
  // No stale value may survive a failed set.
  return store_value(key, flags, exptime, value, opts, mode == StoreMode::set, cas_out, outcome,
                     nullptr);
}

StoreStatus Store::store_value(std::string_view key, std::uint32_t flags, std::int64_t exptime,
                               std::string_view value, const MetaSetOptions& opts,
                               bool drop_on_failure, std::uint64_t* cas_out, Outcome* outcome,
                               std::uint32_t* size_out) {
  if (opts.mode == StoreMode::append || opts.mode == StoreMode::prepend) {
    Outcome local;
    return concat(key, flags, value, opts, cas_out, outcome != nullptr ? *outcome : local,
                  size_out);
  }
  StoreStatus error;
  ItemRef pending = begin_store(key, flags, exptime, value.size(), &error);
  if (!pending) {
    if (drop_on_failure) remove(key);
    return error;
  }
  if (!value.empty()) std::memcpy(pending->value_data(), value.data(), value.size());
  return finish_store(opts, std::move(pending), cas_out, outcome, size_out);
}

StoreStatus Store::concat(std::string_view key, std::uint32_t flags, std::string_view value,
                          const MetaSetOptions& opts, std::uint64_t* cas_out, Outcome& out,
                          std::uint32_t* size_out) {
  const bool append = opts.mode == StoreMode::append;
  StoreStatus status = StoreStatus::stored;
  copy_on_write(
      hashed(key),
      [&](Item* cur, LookupStatus why, RelTime) {
        out.status = why;
        if (cur == nullptr && !opts.vivify) {
          status = StoreStatus::not_stored;
          return Step::done;
        }
        if (cur != nullptr && opts.has_cas && cur->cas_value() != opts.cas) {
          status = StoreStatus::exists;
          return Step::done;
        }
        return Step::build;
      },
      [&](const Item* old) -> Item* {
        if (old == nullptr) {  // N: create the missing item
          Item* it = make_item(key, flags, to_rel_time(opts.vivify_ttl), value, &status);
          if (it == nullptr) remove(key);
          return it;
        }
        const std::size_t new_len = std::size_t{old->value_len} + value.size();
        // memcached: an append that would outgrow the item size limit is
        // NOT_STORED (the value alone fitting, it was taken in).
        if (!item_size_ok(key.size(), new_len)) {
          status = StoreStatus::not_stored;
          return nullptr;
        }
        Item* it = allocate(key, old->flags, old->exptime.load(std::memory_order_relaxed), new_len,
                            &status);
        if (it == nullptr) return nullptr;
        const std::string_view first = append ? old->value() : value;
        const std::string_view second = append ? value : old->value();
        std::memcpy(it->value_data(), first.data(), first.size());
        std::memcpy(it->value_data() + first.size(), second.data(), second.size());
        return it;
      },
      [&](Item* fresh) {
        if (opts.has_new_cas) fresh->cas.store(opts.new_cas, std::memory_order_relaxed);
        out.cls = fresh->cls;
        if (cas_out != nullptr) *cas_out = fresh->cas_value();
        if (size_out != nullptr) *size_out = fresh->value_len;
      });
  return status;
}

ItemRef Store::begin_store(std::string_view key, std::uint32_t flags, std::int64_t exptime,
                           std::size_t value_len, StoreStatus* error) {
  Item* it = allocate(key, flags, to_rel_time(exptime), value_len, error);
  return it == nullptr ? ItemRef{} : adopt(it);
}

StoreStatus Store::finish_store(const MetaSetOptions& opts, ItemRef pending, std::uint64_t* cas_out,
                                Outcome* outcome, std::uint32_t* size_out) {
  Item* it = pending.release();
  const std::string_view key = it->key();
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  Outcome local;
  Outcome& out = outcome != nullptr ? *outcome : local;
  StoreStatus status;
  {
    std::lock_guard lock(s.mu);
    const RelTime now = rel_now();
    Item* old_it = find_locked(s, hk, now, &out.status);
    if (old_it != nullptr) out.cls = old_it->cls;
    // Access bits the new item carries: its key's encoding, and the win-token
    // bits a stale set carries over.
    std::uint8_t keep = opts.key_binary ? kKeyBinary : 0;
    switch (opts.mode) {
      case StoreMode::set: status = StoreStatus::stored; break;
      case StoreMode::add:
        status = old_it == nullptr ? StoreStatus::stored : StoreStatus::not_stored;
        break;
      case StoreMode::replace:
        status = old_it != nullptr ? StoreStatus::stored : StoreStatus::not_stored;
        break;
      case StoreMode::cas:
        if (old_it == nullptr) {
          status = StoreStatus::not_found;
        } else if (old_it->cas_value() == opts.cas) {
          status = StoreStatus::stored;
        } else if (opts.invalidate && opts.cas < old_it->cas_value()) {
          // A late writer with an older CAS may still fill a stale item: the
          // value is kept as stale, with the old TTL and win state.
          it->exptime.store(old_it->exptime.load(std::memory_order_relaxed),
                            std::memory_order_relaxed);
          keep |= static_cast<std::uint8_t>(
              kStale | (old_it->access.load(std::memory_order_relaxed) & kTokenSent));
          status = StoreStatus::stored;
        } else {
          status = StoreStatus::exists;
        }
        break;
      default: status = StoreStatus::not_stored; break;
    }
    if (status == StoreStatus::stored) {
      if (old_it != nullptr) {
        replace_locked(s, hk, old_it, it, now);
      } else {
        link_locked(s, it, now);
      }
      if (keep != 0) it->access.fetch_or(keep, std::memory_order_relaxed);
      if (opts.has_new_cas) it->cas.store(opts.new_cas, std::memory_order_relaxed);
      out.cls = it->cls;
      if (cas_out != nullptr) *cas_out = it->cas_value();
      if (size_out != nullptr) *size_out = it->value_len;
      it = nullptr;
    }
  }
  if (it != nullptr) adopt(it).reset();
  return status;
}

DeltaResult Store::delta(std::string_view key, bool incr, std::uint64_t delta) {
  MetaDeltaOptions opts;
  opts.incr = incr;
  opts.delta = delta;
  const MetaDeltaResult m = meta_delta(key, opts);
  DeltaResult r;
  r.value = m.value;
  r.lookup = m.lookup;
  r.cls = m.cls;
  switch (m.status) {
    case MetaDeltaResult::Status::ok: r.status = DeltaStatus::ok; break;
    case MetaDeltaResult::Status::non_numeric: r.status = DeltaStatus::non_numeric; break;
    case MetaDeltaResult::Status::no_memory: r.status = DeltaStatus::no_memory; break;
    case MetaDeltaResult::Status::not_found:
    case MetaDeltaResult::Status::exists: r.status = DeltaStatus::not_found; break;
  }
  return r;
}

MetaDeltaResult Store::meta_delta(std::string_view key, const MetaDeltaOptions& opts) {
  using Status = MetaDeltaResult::Status;
  MetaDeltaResult r;
  char buf[24];
  std::size_t len = 0;
  bool created = false;
  copy_on_write(
      hashed(key),
      [&](Item* it, LookupStatus why, RelTime now) {
        r.now = now;
        r.lookup = why;
        if (it == nullptr) {
          if (opts.vivify) return Step::build;
          r.status = Status::not_found;
          return Step::done;
        }
        r.cls = it->cls;
        if (opts.has_cas && it->cas_value() != opts.cas) {
          r.status = Status::exists;
          return Step::done;
        }
        std::uint64_t value = 0;
        if (!apply_delta(it, opts.incr, opts.delta, value, buf, len)) {
          r.status = Status::non_numeric;
          return Step::done;
        }
        r.value = value;
        r.status = Status::ok;
        if (!rewrite_number_in_place(it, buf, len)) return Step::build;
        it->cas.store(opts.has_new_cas ? opts.new_cas : next_cas(), std::memory_order_relaxed);
        if (opts.has_ttl) it->exptime.store(to_rel_time(opts.ttl), std::memory_order_relaxed);
        r.cas = it->cas_value();
        r.exptime = it->exptime.load(std::memory_order_relaxed);
        return Step::done;
      },
      [&](const Item* old) {
        // A new item: the result of the change, or N's initial value on a miss.
        created = old == nullptr;
        if (created) {
          len = static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, opts.initial).ptr -
                                         buf);
          r.value = opts.initial;
        }
        StoreStatus error;
        Item* fresh = make_item(
            key, created ? 0 : old->flags,
            created ? to_rel_time(opts.vivify_ttl) : old->exptime.load(std::memory_order_relaxed),
            std::string_view(buf, len), &error);
        if (fresh == nullptr) r.status = Status::no_memory;
        return fresh;
      },
      [&](Item* fresh) {
        if (opts.has_new_cas) fresh->cas.store(opts.new_cas, std::memory_order_relaxed);
        if (opts.has_ttl && !created) {
          fresh->exptime.store(to_rel_time(opts.ttl), std::memory_order_relaxed);
        }
        r.status = Status::ok;
        r.created = created;
        r.cls = fresh->cls;
        r.cas = fresh->cas_value();
        r.exptime = fresh->exptime.load(std::memory_order_relaxed);
      });
  return r;
}

void Store::flush_all(std::int64_t delay) {
  const RelTime now = rel_now();
  const RelTime new_oldest = delay > 0 ? to_rel_time(delay) : now;
  // memcached's oldest_live: items last stored or read at or before it are
  // gone once it has passed.
  const RelTime oldest = new_oldest - 1;
  oldest_live_.store(oldest, std::memory_order_release);
  if (oldest > now) return;  // takes effect later, checked on access and by the crawler
  // Immediate: everything stored so far goes now, including items stored
  // this very second (which the time check cannot tell apart), and the
  // memory is freed at once rather than as keys are read again.
  for (std::size_t i = 0; i <= stripe_mask_; ++i) {
    Stripe& s = stripes_[i];
    std::lock_guard lock(s.mu);
    std::vector<Handle> all(s.index.begin(), s.index.end());
    for (Handle h : all) unlink_locked(s, item(h));
  }
}

std::optional<ItemInfo> Store::peek(std::string_view key) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  std::lock_guard lock(s.mu);
  LookupStatus why;
  Item* it = find_locked(s, hk, rel_now(), &why);
  if (it == nullptr) return std::nullopt;
  return info_of(it, *this);
}

}  // namespace memcoro::store
