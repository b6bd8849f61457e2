#include "memcoro/exec/changes.hpp"

#include <charconv>
#include <cstring>

namespace memcoro::exec {
namespace {

using protocol::MetaFlags;
using store::Item;
using store::ItemRef;
using store::RelTime;
using store::Store;
using store::StoreStatus;
using Step = Store::Step;

constexpr auto kRelaxed = std::memory_order_relaxed;

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

// A number's digits, for a new item's value.
struct Digits {
  char buf[24];
  std::size_t len = 0;
  explicit Digits(std::uint64_t v)
      : len(static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf)) {}
  std::string_view view() const { return {buf, len}; }
};

// incr/decr on a stored number, as memcached does it: incr wraps at 2^64,
// decr stops at 0. False if the value is not a number.
bool apply_delta(const Item& it, bool incr, std::uint64_t delta, std::uint64_t& value) {
  if (it.value_len == 0 || !parse_stored_number(it.value(), value)) return false;
  value = incr ? value + delta : (delta > value ? 0 : value - delta);
  return true;
}

// Writes the digits over the item's value if they fit and nobody else holds
// the item; memcached pads a shorter number with spaces instead of
// shrinking the item, and so does this.
bool rewrite_number_in_place(Item& it, const Digits& d) {
  if (d.len > it.value_len || it.refcount.load(std::memory_order_acquire) != 1) return false;
  char* dst = it.value_data();
  std::memcpy(dst, d.buf, d.len);
  std::memset(dst + d.len, ' ', it.value_len - d.len);
  return true;
}

Written from_change(StoreStatus status, const Store::Change& c) {
  return {status, c.found, c.cls, c.cas, c.size};
}

// append/prepend, text and meta.
Written concat(Store& st, bool append, std::string_view key, std::uint32_t flags,
               std::string_view value, const MetaFlags& m) {
  StoreStatus status = StoreStatus::stored;
  const Store::Change c = st.update(
      key,
      [&](Item* cur, store::LookupStatus, RelTime) {
        if (cur == nullptr && !m.has_vivify) {
          status = StoreStatus::not_stored;
          return Step::done;
        }
        if (cur != nullptr && m.has_cas && cur->cas_value() != m.cas) {
          status = StoreStatus::exists;
          return Step::done;
        }
        return Step::build;
      },
      [&](const Item* old) -> ItemRef {
        if (old == nullptr) {  // N: create the missing item
          Store::Allocation a = st.make(key, flags, st.to_rel_time(m.vivify_ttl), value);
          status = a.error;
          if (!a.item) st.remove(key);
          return std::move(a.item);
        }
        const std::size_t new_len = std::size_t{old->value_len} + value.size();
        // memcached: an append that would outgrow the item size limit is
        // NOT_STORED (the value alone fitting, it was taken in).
        if (!st.item_size_ok(key.size(), new_len)) {
          status = StoreStatus::not_stored;
          return {};
        }
        Store::Allocation a = st.allocate(key, old->flags, old->exptime.load(kRelaxed), new_len);
        status = a.error;
        if (!a.item) return {};
        const std::string_view first = append ? old->value() : value;
        const std::string_view second = append ? value : old->value();
        std::memcpy(a.item->value_data(), first.data(), first.size());
        std::memcpy(a.item->value_data() + first.size(), second.data(), second.size());
        return std::move(a.item);
      },
      [&](Item& fresh) {
        if (m.has_new_cas) fresh.cas.store(m.new_cas, kRelaxed);
      });
  return from_change(status, c);
}

// md I: the item stays, marked stale, so that the next reader wins the
// right to recache it (mg answers W, then Z to the others); T sets its TTL.
Deleted invalidate(Store& st, std::string_view key, const MetaFlags& m) {
  bool mismatch = false;
  const store::GetResult r = st.access(key, nullptr, [&](Item& it, RelTime, bool) {
    if (m.has_cas && it.cas_value() != m.cas) {
      mismatch = true;
      return false;
    }
    if (m.has_ttl) it.exptime.store(st.to_rel_time(m.ttl), kRelaxed);
    it.access.fetch_or(store::kStale, kRelaxed);
    it.access.fetch_and(static_cast<std::uint8_t>(~store::kTokenSent), kRelaxed);
    it.cas.store(m.has_new_cas ? m.new_cas : st.new_cas(), kRelaxed);
    return false;  // not a read
  });
  if (!r.item) return {Deleted::Status::not_found, r.cls};
  return {mismatch ? Deleted::Status::exists : Deleted::Status::deleted, r.cls};
}

}  // namespace

Written write_value(Store& st, StoreMode mode, std::string_view key, std::uint32_t flags,
                    std::int64_t exptime, std::string_view value, const MetaFlags& m,
                    bool drop_on_failure) {
  if (mode == StoreMode::append || mode == StoreMode::prepend) {
    return concat(st, mode == StoreMode::append, key, flags, value, m);
  }
  Store::Allocation a = st.make(key, flags, st.to_rel_time(exptime), value);
  if (!a.item) {
    if (drop_on_failure) st.remove(key);
    return {a.error};
  }
  return link_value(st, mode, std::move(a.item), m);
}

Written link_value(Store& st, StoreMode mode, ItemRef fresh, const MetaFlags& m) {
  // memcached: a CAS turns set and replace into cas.
  if (m.has_cas && (mode == StoreMode::set || mode == StoreMode::replace)) mode = StoreMode::cas;
  StoreStatus status = StoreStatus::not_stored;
  // Access bits the new item carries: its key's encoding, and the win-token
  // bits a stale set carries over.
  std::uint8_t carry = m.base64 ? store::kKeyBinary : 0;
  const Store::Change c = st.link(
      std::move(fresh),
      [&](const Item* cur, Item& it, RelTime) {
        switch (mode) {
          case StoreMode::set: status = StoreStatus::stored; break;
          case StoreMode::add:
            status = cur == nullptr ? StoreStatus::stored : StoreStatus::not_stored;
            break;
          case StoreMode::replace:
            status = cur != nullptr ? StoreStatus::stored : StoreStatus::not_stored;
            break;
          case StoreMode::cas:
            if (cur == nullptr) {
              status = StoreStatus::not_found;
            } else if (cur->cas_value() == m.cas) {
              status = StoreStatus::stored;
            } else if (m.invalidate && m.cas < cur->cas_value()) {
              // A late writer with an older CAS may still fill a stale item:
              // the value is kept as stale, with the old TTL and win state.
              it.exptime.store(cur->exptime.load(kRelaxed), kRelaxed);
              carry |= static_cast<std::uint8_t>(store::kStale |
                                                 (cur->access.load(kRelaxed) & store::kTokenSent));
              status = StoreStatus::stored;
            } else {
              status = StoreStatus::exists;
            }
            break;
          case StoreMode::append:
          case StoreMode::prepend: status = StoreStatus::not_stored; break;
        }
        return status == StoreStatus::stored;
      },
      [&](Item& it) {
        if (carry != 0) it.access.fetch_or(carry, kRelaxed);
        if (m.has_new_cas) it.cas.store(m.new_cas, kRelaxed);
      });
  return from_change(status, c);
}

Counted change_number(Store& st, std::string_view key, bool incr, std::uint64_t delta,
                      const MetaFlags& m) {
  using Status = Counted::Status;
  Counted r;
  std::uint64_t result = 0;
  auto finish = [&](Item& it) {
    if (m.has_new_cas) it.cas.store(m.new_cas, kRelaxed);
    r.status = Status::ok;
    r.value = result;
    r.cls = static_cast<std::uint8_t>(it.cls());
    r.cas = it.cas_value();
    r.exptime = it.exptime.load(kRelaxed);
  };
  st.update(
      key,
      [&](Item* cur, store::LookupStatus, RelTime now) {
        r.now = now;
        if (cur == nullptr) {
          if (m.has_vivify) return Step::build;
          r.status = Status::not_found;
          return Step::done;
        }
        r.cls = cur->cls();
        if (m.has_cas && cur->cas_value() != m.cas) {
          r.status = Status::exists;
          return Step::done;
        }
        if (!apply_delta(*cur, incr, delta, result)) {
          r.status = Status::non_numeric;
          return Step::done;
        }
        if (!rewrite_number_in_place(*cur, Digits(result))) return Step::build;
        if (!m.has_new_cas) cur->cas.store(st.new_cas(), kRelaxed);
        if (m.has_ttl) cur->exptime.store(st.to_rel_time(m.ttl), kRelaxed);
        finish(*cur);
        return Step::done;
      },
      [&](const Item* old) {
        // A new item: the result of the change, or N's initial value on a miss.
        r.created = old == nullptr;
        if (r.created) result = m.initial;
        Store::Allocation a =
            st.make(key, r.created ? 0 : old->flags,
                    r.created ? st.to_rel_time(m.vivify_ttl) : old->exptime.load(kRelaxed),
                    Digits(result).view());
        if (!a.item) r.status = Status::no_memory;
        return std::move(a.item);
      },
      [&](Item& fresh) {
        if (m.has_ttl && !r.created) fresh.exptime.store(st.to_rel_time(m.ttl), kRelaxed);
        finish(fresh);
      });
  return r;
}

Deleted delete_item(Store& st, std::string_view key, const MetaFlags& m) {
  if (m.invalidate) return invalidate(st, key, m);
  Deleted d{Deleted::Status::deleted, 0};
  st.update(
      key,
      [&](Item* cur, store::LookupStatus, RelTime) {
        if (cur == nullptr) {
          d.status = Deleted::Status::not_found;
          return Step::done;
        }
        d.cls = cur->cls();
        if (m.has_cas && cur->cas_value() != m.cas) {
          d.status = Deleted::Status::exists;
          return Step::done;
        }
        // x: replace the item with an empty one that keeps its key, flags and TTL.
        return m.remove_value ? Step::build : Step::unlink;
      },
      [&](const Item* old) {
        Store::Allocation a = st.make(key, old->flags, old->exptime.load(kRelaxed), {});
        if (!a.item) d.status = Deleted::Status::not_found;
        return std::move(a.item);
      },
      [&](Item& fresh) {
        if (m.has_new_cas) fresh.cas.store(m.new_cas, kRelaxed);
      });
  return d;
}

}  // namespace memcoro::exec
