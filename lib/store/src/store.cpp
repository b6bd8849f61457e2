#include "memcoro/store/store.hpp"

#include <absl/hash/hash.h>

#include <bit>
#include <boost/unordered/unordered_flat_set.hpp>
#include <charconv>
#include <cstring>

namespace memcoro::store {
namespace {

// memcached: exptimes above 30 days are absolute Unix times.
constexpr std::int64_t kMaxRelativeExptime = 60 * 60 * 24 * 30;

std::size_t hash_key(std::string_view key) {
  return absl::Hash<std::string_view>{}(key);
}

// The index stores item pointers and is searched by key, so each slot costs
// 8 bytes and the key is kept once, in the item.
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view k) const { return hash_key(k); }
  std::size_t operator()(const Item* it) const { return hash_key(it->key()); }
};
struct KeyEq {
  using is_transparent = void;
  bool operator()(const Item* a, const Item* b) const { return a->key() == b->key(); }
  bool operator()(std::string_view a, const Item* b) const { return a == b->key(); }
  bool operator()(const Item* a, std::string_view b) const { return a->key() == b; }
};

// Counter written under its stripe's lock and read without it.
struct LockedCounter {
  std::atomic<std::uint64_t> v{0};
  void add(std::int64_t d) {
    v.store(v.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(d),
            std::memory_order_relaxed);
  }
  std::uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

bool parse_stored_number(std::string_view v, std::uint64_t& out) {
  // memcached's safe_strtoull over the stored value: leading whitespace, digits,
  // then whitespace (the value's "\r\n" or padding) or the end.
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

struct alignas(64) Store::Stripe {
  std::mutex mu;
  boost::unordered_flat_set<Item*, KeyHash, KeyEq> index;
  LockedCounter items;
  LockedCounter bytes;
  LockedCounter total_items;
};

Store::Store(const StoreConfig& config, const Clock& clock) : config_(config), clock_(clock) {
  // Two seconds before now, so that RelTime 1 ("already expired") is always
  // in the past, as in memcached.
  epoch_ = clock_.now() - 2;
  std::size_t n = std::bit_ceil(config_.stripes < 1 ? std::size_t{1} : config_.stripes);
  config_.stripes = n;
  stripe_mask_ = n - 1;
  stripes_ = std::make_unique<Stripe[]>(n);
}

Store::~Store() {
  for (std::size_t i = 0; i <= stripe_mask_; ++i) {
    for (Item* it : stripes_[i].index) ItemRef::adopt(it).reset();
  }
}

Store::Stripe& Store::stripe_for(std::size_t hash) const {
  // The index mixes the hash again before using it, so the stripe can use
  // the top bits without skewing the sets.
  return stripes_[(hash >> 32) & stripe_mask_];
}

RelTime Store::rel_now() const {
  return static_cast<RelTime>(clock_.now() - epoch_);
}

RelTime Store::to_rel_time(std::int64_t exptime) const {
  if (exptime == 0) return 0;
  if (exptime < 0) return 1;
  if (exptime > kMaxRelativeExptime) {
    if (exptime <= epoch_) return 1;
    return static_cast<RelTime>(exptime - epoch_);
  }
  return static_cast<RelTime>(exptime + rel_now());
}

bool Store::is_live_locked(const Item* it, RelTime now, LookupStatus* why) const {
  const RelTime oldest = oldest_live_.load(std::memory_order_acquire);
  if (oldest != 0 && oldest <= now) {
    const std::uint64_t oldest_cas = oldest_cas_.load(std::memory_order_acquire);
    if (it->time <= oldest || (oldest_cas != 0 && it->cas < oldest_cas)) {
      *why = LookupStatus::flushed;
      return false;
    }
  }
  if (it->exptime != 0 && it->exptime <= now) {
    *why = LookupStatus::expired;
    return false;
  }
  return true;
}

Item* Store::find_locked(Stripe& s, std::string_view key, std::size_t hash, RelTime now,
                         LookupStatus* why) {
  auto pos = s.index.find(key);
  if (pos == s.index.end()) {
    *why = LookupStatus::miss;
    return nullptr;
  }
  Item* it = *pos;
  if (!is_live_locked(it, now, why)) {
    unlink_locked(s, it, hash);
    return nullptr;
  }
  *why = LookupStatus::hit;
  return it;
}

void Store::link_locked(Stripe& s, Item* it, RelTime now) {
  it->time = now;
  it->cas = next_cas();
  s.index.insert(it);
  s.items.add(1);
  s.total_items.add(1);
  s.bytes.add(static_cast<std::int64_t>(it->total_size()));
}

void Store::unlink_locked(Stripe& s, Item* it, std::size_t /*hash*/) {
  s.index.erase(it);
  s.items.add(-1);
  s.bytes.add(-static_cast<std::int64_t>(it->total_size()));
  ItemRef::adopt(it).reset();
}

void Store::replace_locked(Stripe& s, Item* old_it, Item* new_it, std::size_t hash, RelTime now) {
  unlink_locked(s, old_it, hash);
  link_locked(s, new_it, now);
}

GetResult Store::get(std::string_view key) {
  const std::size_t h = hash_key(key);
  Stripe& s = stripe_for(h);
  GetResult r;
  std::lock_guard lock(s.mu);
  Item* it = find_locked(s, key, h, rel_now(), &r.status);
  if (it != nullptr) r.item = ItemRef::share(it);
  return r;
}

GetResult Store::get_and_touch(std::string_view key, std::int64_t exptime) {
  const std::size_t h = hash_key(key);
  Stripe& s = stripe_for(h);
  const RelTime exp = to_rel_time(exptime);
  GetResult r;
  std::lock_guard lock(s.mu);
  Item* it = find_locked(s, key, h, rel_now(), &r.status);
  if (it != nullptr) {
    it->exptime = exp;
    r.item = ItemRef::share(it);
  }
  return r;
}

LookupStatus Store::touch(std::string_view key, std::int64_t exptime) {
  return get_and_touch(key, exptime).status;
}

LookupStatus Store::remove(std::string_view key) {
  const std::size_t h = hash_key(key);
  Stripe& s = stripe_for(h);
  LookupStatus why;
  std::lock_guard lock(s.mu);
  Item* it = find_locked(s, key, h, rel_now(), &why);
  if (it != nullptr) unlink_locked(s, it, h);
  return why;
}

StoreStatus Store::store(StoreMode mode, std::string_view key, std::uint32_t flags,
                         std::int64_t exptime, std::string_view value, std::uint64_t cas_in,
                         std::uint64_t* cas_out, LookupStatus* lookup) {
  const std::size_t h = hash_key(key);
  Stripe& s = stripe_for(h);
  const RelTime exp = to_rel_time(exptime);
  LookupStatus why = LookupStatus::miss;

  if (mode == StoreMode::append || mode == StoreMode::prepend) {
    // The new value depends on the old one, so it is built under the lock.
    std::lock_guard lock(s.mu);
    const RelTime now = rel_now();
    Item* old_it = find_locked(s, key, h, now, &why);
    if (lookup != nullptr) *lookup = why;
    if (old_it == nullptr) return StoreStatus::not_stored;
    const std::size_t new_len = std::size_t{old_it->value_len} + value.size();
    if (!item_size_ok(key.size(), new_len)) return StoreStatus::too_large;
    Item* it =
        Item::create(key, old_it->flags, old_it->exptime, static_cast<std::uint32_t>(new_len));
    if (it == nullptr) return StoreStatus::no_memory;
    char* dst = it->value_data();
    if (mode == StoreMode::append) {
      std::memcpy(dst, old_it->value().data(), old_it->value_len);
      std::memcpy(dst + old_it->value_len, value.data(), value.size());
    } else {
      std::memcpy(dst, value.data(), value.size());
      std::memcpy(dst + value.size(), old_it->value().data(), old_it->value_len);
    }
    replace_locked(s, old_it, it, h, now);
    if (cas_out != nullptr) *cas_out = it->cas;
    return StoreStatus::stored;
  }

  if (!item_size_ok(key.size(), value.size())) {
    if (mode == StoreMode::set) remove(key);  // no stale value may survive a failed set
    return StoreStatus::too_large;
  }
  // Built outside the lock: copying the value is the slow part.
  Item* it = Item::create(key, flags, exp, static_cast<std::uint32_t>(value.size()));
  if (it == nullptr) {
    if (mode == StoreMode::set) remove(key);
    return StoreStatus::no_memory;
  }
  if (!value.empty()) std::memcpy(it->value_data(), value.data(), value.size());

  StoreStatus status;
  {
    std::lock_guard lock(s.mu);
    const RelTime now = rel_now();
    Item* old_it = find_locked(s, key, h, now, &why);
    switch (mode) {
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
        } else {
          status = old_it->cas == cas_in ? StoreStatus::stored : StoreStatus::exists;
        }
        break;
      default: status = StoreStatus::not_stored; break;
    }
    if (status == StoreStatus::stored) {
      if (old_it != nullptr) {
        replace_locked(s, old_it, it, h, now);
      } else {
        link_locked(s, it, now);
      }
      if (cas_out != nullptr) *cas_out = it->cas;
      it = nullptr;
    }
  }
  if (lookup != nullptr) *lookup = why;
  if (it != nullptr) Item::destroy(it);
  return status;
}

DeltaResult Store::delta(std::string_view key, bool incr, std::uint64_t delta) {
  const std::size_t h = hash_key(key);
  Stripe& s = stripe_for(h);
  DeltaResult r;
  std::lock_guard lock(s.mu);
  const RelTime now = rel_now();
  Item* it = find_locked(s, key, h, now, &r.lookup);
  if (it == nullptr) {
    r.status = DeltaStatus::not_found;
    return r;
  }
  std::uint64_t value = 0;
  if (it->value_len == 0 || !parse_stored_number(it->value(), value)) {
    r.status = DeltaStatus::non_numeric;
    return r;
  }
  if (incr) {
    value += delta;  // wraps at 2^64, as memcached does
  } else {
    value = delta > value ? 0 : value - delta;
  }
  char buf[24];
  char* end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  const std::size_t len = static_cast<std::size_t>(end - buf);
  r.value = value;
  r.status = DeltaStatus::ok;
  if (len <= it->value_len && it->refcount.load(std::memory_order_acquire) == 1) {
    // Nobody else holds the item: rewrite it in place. memcached pads a
    // shorter number with spaces instead of shrinking the item; so do we.
    char* dst = it->value_data();
    std::memcpy(dst, buf, len);
    std::memset(dst + len, ' ', it->value_len - len);
    it->cas = next_cas();
    return r;
  }
  Item* fresh = Item::create(key, it->flags, it->exptime, static_cast<std::uint32_t>(len));
  if (fresh == nullptr) {
    r.status = DeltaStatus::no_memory;
    return r;
  }
  std::memcpy(fresh->value_data(), buf, len);
  replace_locked(s, it, fresh, h, now);
  return r;
}

void Store::flush_all(std::int64_t delay) {
  const RelTime now = rel_now();
  const RelTime new_oldest = delay > 0 ? to_rel_time(delay) : now;
  const RelTime oldest = new_oldest - 1;
  if (oldest <= now) {
    oldest_cas_.store(next_cas(), std::memory_order_release);
  }
  oldest_live_.store(oldest, std::memory_order_release);
  if (oldest > now) return;  // takes effect later, checked on access
  // Immediate: free the memory now rather than as keys are read again.
  for (std::size_t i = 0; i <= stripe_mask_; ++i) {
    Stripe& s = stripes_[i];
    std::lock_guard lock(s.mu);
    boost::unordered::erase_if(s.index, [&](Item* it) {
      LookupStatus why;
      if (is_live_locked(it, now, &why)) return false;
      s.items.add(-1);
      s.bytes.add(-static_cast<std::int64_t>(it->total_size()));
      ItemRef::adopt(it).reset();
      return true;
    });
  }
}

StoreCounters Store::counters() const {
  StoreCounters c;
  for (std::size_t i = 0; i <= stripe_mask_; ++i) {
    c.curr_items += stripes_[i].items.get();
    c.total_items += stripes_[i].total_items.get();
    c.bytes += stripes_[i].bytes.get();
  }
  return c;
}

}  // namespace memcoro::store
