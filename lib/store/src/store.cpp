#include "memcoro/store/store.hpp"

#include <absl/hash/hash.h>

#include <algorithm>
#include <bit>
#include <boost/unordered/unordered_flat_set.hpp>
#include <charconv>
#include <cstring>
#include <map>
#include <new>
#include <thread>

namespace memcoro::store {
namespace {

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

std::size_t hash_key(std::string_view key) {
  return absl::Hash<std::string_view>{}(key);
}

// The index stores 4-byte item handles and is searched by key, so the key is
// kept once, in the item. A lookup brings the key's hash along: the hash that
// chose the stripe is the one the index uses (one hash per request).
struct HandleHash {
  using is_transparent = void;
  const SlabAllocator* slabs = nullptr;
  std::size_t operator()(const Store::HashedKey& k) const { return k.hash; }
  std::size_t operator()(Handle h) const {
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
using Index = boost::unordered_flat_set<Handle, HandleHash, HandleEq>;

// Counter written under a lock and read without it.
struct LockedCounter {
  std::atomic<std::uint64_t> v{0};
  void add(std::int64_t d) {
    v.store(v.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(d),
            std::memory_order_relaxed);
  }
  std::uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

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

memory::SlabConfig slab_config(const StoreConfig& c) {
  memory::SlabConfig s;
  s.memory_limit = c.memory_limit;
  s.item_size_max = c.max_item_size;
  s.min_chunk = sizeof(Item) + c.chunk_size;
  s.growth_factor = c.growth_factor;
  s.reserve = c.reserve;
  return s;
}

}  // namespace

struct alignas(64) Store::Stripe {
  std::mutex mu;
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

Store::Store(const StoreConfig& config, const Clock& clock)
    : config_(config),
      clock_(clock),
      slabs_(slab_config(config)),
      automove_(config.automove),
      lru_crawler_(config.lru_crawler),
      hot_pct_(config.hot_pct),
      warm_pct_(config.warm_pct) {
  // Two seconds before now, so that RelTime 1 ("already expired") is always
  // in the past, as in memcached.
  epoch_ = clock_.now() - 2;
  const std::size_t n = std::bit_ceil(std::max<std::size_t>(config_.stripes, 1));
  config_.stripes = n;
  stripe_mask_ = n - 1;
  stripes_ = std::make_unique<Stripe[]>(n);
  for (std::size_t i = 0; i < n; ++i) {
    stripes_[i].index = Index(0, HandleHash{&slabs_}, HandleEq{&slabs_});
  }
  lrus_ = std::make_unique<Lru[]>(SlabAllocator::kMaxClasses + 1);
  last_evicted_.assign(SlabAllocator::kMaxClasses + 1, 0);
  free_streak_.assign(SlabAllocator::kMaxClasses + 1, 0);
}

// Item memory goes with the allocator's address range.
Store::~Store() = default;

Store::Stripe& Store::stripe_for(std::size_t hash) const {
  // The index mixes the hash again before using it, so the stripe can use
  // the top bits without skewing the sets.
  return stripes_[(hash >> 40) & stripe_mask_];
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

// --- index and LRU -----------------------------------------------------------

bool Store::is_live(const Item* it, RelTime now, LookupStatus* why) const {
  const RelTime oldest = oldest_live_.load(std::memory_order_acquire);
  if (oldest != 0 && oldest <= now && it->time.load(std::memory_order_relaxed) <= oldest) {
    *why = LookupStatus::flushed;
    return false;
  }
  const RelTime exp = it->exptime.load(std::memory_order_relaxed);
  if (exp != 0 && exp <= now) {
    *why = LookupStatus::expired;
    return false;
  }
  return true;
}

Store::HashedKey Store::hashed(std::string_view key) {
  return {key, hash_key(key)};
}

Item* Store::find_locked(Stripe& s, const HashedKey& key, RelTime now, LookupStatus* why) {
  auto pos = s.index.find(key);
  if (pos == s.index.end()) {
    *why = LookupStatus::miss;
    return nullptr;
  }
  Item* it = item(*pos);
  if (!is_live(it, now, why)) {
    {
      std::lock_guard lock(lrus_[it->cls].mu);
      ++lrus_[it->cls].reclaimed;
      if (!it->has(kFetched)) ++lrus_[it->cls].expired_unfetched;
    }
    unlink_locked(s, it);
    return nullptr;
  }
  *why = LookupStatus::hit;
  return it;
}

void Store::lru_push(Lru& l, Segment seg, Item* it) {
  const auto i = static_cast<unsigned>(seg);
  const Handle h = slabs_.handle_of(it);
  it->lru.store(seg, std::memory_order_relaxed);
  it->prev = 0;
  it->next = l.head[i];
  if (l.head[i] != 0) item(l.head[i])->prev = h;
  l.head[i] = h;
  if (l.tail[i] == 0) l.tail[i] = h;
  ++l.count[i];
}

void Store::lru_remove(Lru& l, Item* it) {
  const auto i = static_cast<unsigned>(it->lru.load(std::memory_order_relaxed));
  if (i >= kSegments) return;
  if (it->prev != 0) {
    item(it->prev)->next = it->next;
  } else {
    l.head[i] = it->next;
  }
  if (it->next != 0) {
    item(it->next)->prev = it->prev;
  } else {
    l.tail[i] = it->prev;
  }
  it->prev = it->next = 0;
  it->lru.store(Segment::none, std::memory_order_relaxed);
  --l.count[i];
}

// memcached's segmented LRU, done inline instead of by a maintainer thread:
// new items enter HOT; what leaves HOT goes to WARM if it was read twice
// (kActive), else to COLD; WARM keeps its active items and sends the rest to
// COLD; eviction takes COLD's tail, rescuing items read while in COLD.
void Store::lru_balance(Lru& l) {
  const std::uint64_t total = l.total();
  const std::uint64_t hot_max =
      std::max<std::uint64_t>(1, total * hot_pct_.load(std::memory_order_relaxed) / 100);
  const std::uint64_t warm_max = total * warm_pct_.load(std::memory_order_relaxed) / 100;
  // Moves the tail of `from` to WARM if it was read twice, else to COLD.
  auto demote_tail = [&](unsigned from, std::uint64_t& active_moves) {
    Item* it = item(l.tail[from]);
    lru_remove(l, it);
    if (it->has(kActive)) {
      it->access.fetch_and(static_cast<std::uint8_t>(~kActive), std::memory_order_relaxed);
      lru_push(l, Segment::warm, it);
      ++active_moves;
    } else {
      lru_push(l, Segment::cold, it);
      ++l.moves_to_cold;
    }
  };
  for (int step = 0; step < 4 && l.count[0] > hot_max; ++step) demote_tail(0, l.moves_to_warm);
  for (int step = 0; step < 4 && l.count[1] > warm_max; ++step) demote_tail(1, l.moves_within_lru);
}

void Store::link_locked(Stripe& s, Item* it, RelTime now) {
  it->time.store(now, std::memory_order_relaxed);
  it->cas.store(next_cas(), std::memory_order_relaxed);
  it->access.store(kLinked, std::memory_order_relaxed);
  s.index.insert(slabs_.handle_of(it));
  s.items.add(1);
  s.total_items.add(1);
  s.bytes.add(static_cast<std::int64_t>(it->total_size()));
  Lru& l = lrus_[it->cls];
  std::lock_guard lock(l.mu);
  lru_push(l, Segment::hot, it);
  l.requested += it->total_size();
  lru_balance(l);
}

void Store::unlink_locked(Stripe& s, Item* it) {
  s.index.erase(slabs_.handle_of(it));
  it->access.fetch_and(static_cast<std::uint8_t>(~kLinked), std::memory_order_relaxed);
  s.items.add(-1);
  s.bytes.add(-static_cast<std::int64_t>(it->total_size()));
  {
    Lru& l = lrus_[it->cls];
    std::lock_guard lock(l.mu);
    lru_remove(l, it);
    l.requested -= it->total_size();
  }
  adopt(it).reset();  // the index's reference
}

void Store::replace_locked(Stripe& s, const HashedKey& key, Item* old_it, Item* it, RelTime now) {
  // Same key, same hash: the new item takes the old one's slot, so churn on
  // existing keys never erases from (or rehashes) the index.
  auto pos = s.index.find(key);
  const_cast<Handle&>(*pos) = slabs_.handle_of(it);
  old_it->access.fetch_and(static_cast<std::uint8_t>(~kLinked), std::memory_order_relaxed);
  it->time.store(now, std::memory_order_relaxed);
  it->cas.store(next_cas(), std::memory_order_relaxed);
  it->access.store(kLinked, std::memory_order_relaxed);
  s.total_items.add(1);
  s.bytes.add(static_cast<std::int64_t>(it->total_size()) -
              static_cast<std::int64_t>(old_it->total_size()));
  if (old_it->cls == it->cls) {
    Lru& l = lrus_[it->cls];
    std::lock_guard lock(l.mu);
    lru_remove(l, old_it);
    l.requested -= old_it->total_size();
    lru_push(l, Segment::hot, it);
    l.requested += it->total_size();
    lru_balance(l);
  } else {
    {
      Lru& l = lrus_[old_it->cls];
      std::lock_guard lock(l.mu);
      lru_remove(l, old_it);
      l.requested -= old_it->total_size();
    }
    Lru& l = lrus_[it->cls];
    std::lock_guard lock(l.mu);
    lru_push(l, Segment::hot, it);
    l.requested += it->total_size();
    lru_balance(l);
  }
  adopt(old_it).reset();  // the index's reference to the old item
}

void Store::touch_access_locked(Item* it, RelTime now) {
  const std::uint8_t a = it->access.load(std::memory_order_relaxed);
  if ((a & kFetched) == 0) {
    it->access.fetch_or(kFetched, std::memory_order_relaxed);
  } else if ((a & kActive) == 0) {
    it->access.fetch_or(kActive, std::memory_order_relaxed);
  }
  if (now - it->time.load(std::memory_order_relaxed) >= kUpdateInterval) {
    it->time.store(now, std::memory_order_relaxed);
  }
}

// --- allocation ----------------------------------------------------------------

Item* Store::allocate(std::string_view key, std::uint32_t flags, RelTime exptime,
                      std::size_t value_len, StoreStatus* error) {
  const std::size_t total = Item::total_size(key.size(), value_len);
  const unsigned cls = total <= config_.max_item_size ? slabs_.class_for(total) : 0;
  if (cls == 0) {
    *error = StoreStatus::too_large;
    return nullptr;
  }
  for (int attempt = 0; attempt < 32; ++attempt) {
    if (void* p = slabs_.alloc(cls)) {
      Item* it = new (p) Item;
      it->prev = it->next = 0;
      it->refcount.store(1, std::memory_order_relaxed);
      it->flags = flags;
      it->cas.store(0, std::memory_order_relaxed);
      it->exptime.store(exptime, std::memory_order_relaxed);
      it->time.store(0, std::memory_order_relaxed);
      it->value_len = static_cast<std::uint32_t>(value_len);
      it->key_len = static_cast<std::uint8_t>(key.size());
      it->cls = static_cast<std::uint8_t>(cls);
      it->access.store(0, std::memory_order_relaxed);
      it->lru.store(Segment::none, std::memory_order_relaxed);
      std::memcpy(it->bytes(), key.data(), key.size());
      char* end = it->value_data() + value_len;
      end[0] = '\r';
      end[1] = '\n';
      return it;
    }
    if (!config_.evictions) break;
    if (evict_one(cls) || steal_page_for(cls)) {
      // memcached's direct_reclaims: the request itself made room.
      std::lock_guard lock(lrus_[cls].mu);
      ++lrus_[cls].direct_reclaims;
      continue;
    }
    break;
  }
  {
    std::lock_guard lock(lrus_[cls].mu);
    ++lrus_[cls].outofmemory;
  }
  *error = StoreStatus::no_memory;
  return nullptr;
}

bool Store::evict_one(unsigned cls) {
  Lru& l = lrus_[cls];
  std::lock_guard lock(l.mu);
  const RelTime now = rel_now();
  int tries = 0;
  for (unsigned seg : {2u, 1u, 0u}) {
    Handle h = l.tail[seg];
    while (h != 0 && tries < kEvictTries) {
      Item* it = item(h);
      h = it->prev;
      ++tries;
      if (seg == 2 && it->has(kActive)) {
        // Read while in COLD: rescue it to WARM instead of evicting it.
        it->access.fetch_and(static_cast<std::uint8_t>(~kActive), std::memory_order_relaxed);
        lru_remove(l, it);
        lru_push(l, Segment::warm, it);
        ++l.moves_to_warm;
        continue;
      }
      if (it->refcount.load(std::memory_order_acquire) != 1) {
        ++l.lrutail_reflocked;  // in use
        continue;
      }
      Stripe& s = stripe_for(hash_key(it->key()));
      std::unique_lock stripe_lock(s.mu, std::try_to_lock);
      if (!stripe_lock.owns_lock()) continue;
      if (!it->has(kLinked) || it->refcount.load(std::memory_order_acquire) != 1) continue;
      LookupStatus why;
      const bool live = is_live(it, now, &why);
      if (live) {
        ++l.evicted;
        if (it->exptime.load(std::memory_order_relaxed) != 0) ++l.evicted_nonzero;
        l.evicted_time = now - it->time.load(std::memory_order_relaxed);
        if (!it->has(kFetched)) ++l.evicted_unfetched;
      } else {
        ++l.reclaimed;
        if (!it->has(kFetched)) ++l.expired_unfetched;
      }
      // unlink_locked() without retaking the LRU lock we hold.
      s.index.erase(slabs_.handle_of(it));
      it->access.fetch_and(static_cast<std::uint8_t>(~kLinked), std::memory_order_relaxed);
      s.items.add(-1);
      s.bytes.add(-static_cast<std::int64_t>(it->total_size()));
      lru_remove(l, it);
      l.requested -= it->total_size();
      stripe_lock.unlock();
      adopt(it).reset();
      return true;
    }
  }
  return false;
}

unsigned Store::oldest_class(unsigned except, std::size_t min_pages) const {
  const RelTime now = rel_now();
  unsigned best = 0;
  RelTime best_age = 0;
  std::size_t best_pages = 0;
  for (unsigned c = 1; c <= slabs_.num_classes(); ++c) {
    if (c == except) continue;
    const std::size_t pages = slabs_.class_stats(c).total_pages;
    if (pages < min_pages || pages == 0) continue;
    const RelTime age = tail_age(c, now);
    if (best == 0 || age > best_age || (age == best_age && pages > best_pages)) {
      best = c;
      best_age = age;
      best_pages = pages;
    }
  }
  return best;
}

RelTime Store::tail_age(unsigned cls, RelTime now) const {
  Lru& l = lrus_[cls];
  std::lock_guard lock(l.mu);
  for (unsigned seg : {2u, 1u, 0u}) {
    if (l.tail[seg] != 0) {
      const RelTime t = item(l.tail[seg])->time.load(std::memory_order_relaxed);
      return now > t ? now - t : 0;
    }
  }
  return 0;
}

bool Store::steal_page_for(unsigned cls) {
  if (!slabs_.moving()) {
    unsigned donor = oldest_class(cls, 2);
    if (donor == 0) donor = oldest_class(cls, 1);
    if (donor == 0) return false;
    if (slabs_.start_move(donor, cls, 1) != SlabAllocator::MoveStatus::ok) {
      if (!slabs_.moving()) return false;
    }
  }
  return process_move();
}

bool Store::clear_for_move(ItemRef ref, RelTime now) {
  Item* it = ref.get();
  const std::size_t hash = hash_key(it->key());
  Stripe& s = stripe_for(hash);
  std::lock_guard lock(s.mu);
  if (!it->has(kLinked)) return true;  // gone already: freed with its last reference
  // Nobody but the index and us may hold it: a reader still sending it keeps
  // the page, and the next round tries again.
  if (it->refcount.load(std::memory_order_acquire) != 2) {
    reassign_busy_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  LookupStatus why;
  if (!is_live(it, now, &why)) {
    {
      std::lock_guard lru_lock(lrus_[it->cls].mu);
      ++lrus_[it->cls].reclaimed;
    }
    unlink_locked(s, it);
    return true;
  }
  // A live item is copied into a free chunk of its class elsewhere, as
  // memcached's page mover rescues it; it keeps its key, value, CAS, times,
  // access bits and LRU segment. Only when the class has no free chunk (and
  // no new page is taken for it) is the item dropped.
  void* chunk = slabs_.alloc(it->cls, /*new_page=*/false);
  if (chunk == nullptr) {
    unlink_locked(s, it);
    reassign_evictions_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  Item* copy = new (chunk) Item;
  copy->prev = copy->next = 0;
  copy->refcount.store(1, std::memory_order_relaxed);  // the index's
  copy->flags = it->flags;
  copy->cas.store(it->cas_value(), std::memory_order_relaxed);
  copy->exptime.store(it->exptime.load(std::memory_order_relaxed), std::memory_order_relaxed);
  copy->time.store(it->time.load(std::memory_order_relaxed), std::memory_order_relaxed);
  copy->value_len = it->value_len;
  copy->key_len = it->key_len;
  copy->cls = it->cls;
  copy->access.store(it->access.load(std::memory_order_relaxed), std::memory_order_relaxed);
  copy->lru.store(Segment::none, std::memory_order_relaxed);
  std::memcpy(copy->bytes(), it->bytes(), it->total_size() - sizeof(Item));
  auto pos = s.index.find(HashedKey{it->key(), hash});
  const_cast<Handle&>(*pos) = slabs_.handle_of(copy);
  it->access.fetch_and(static_cast<std::uint8_t>(~kLinked), std::memory_order_relaxed);
  {
    Lru& l = lrus_[it->cls];
    std::lock_guard lru_lock(l.mu);
    const Segment seg = it->lru.load(std::memory_order_relaxed);
    lru_remove(l, it);
    lru_push(l, seg == Segment::none ? Segment::hot : seg, copy);
  }
  adopt(it).reset();  // the index's reference to the old chunk
  reassign_rescues_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool Store::process_move() {
  std::lock_guard lock(move_mu_);
  std::vector<ItemRef> victims;
  for (int round = 0; round < 50; ++round) {
    switch (slabs_.try_finish_move()) {
      case SlabAllocator::FinishStatus::idle: return true;
      case SlabAllocator::FinishStatus::finished:
        slabs_moved_.fetch_add(1, std::memory_order_relaxed);
        return true;
      case SlabAllocator::FinishStatus::pending: break;
    }
    // The page's items are found through their class's LRU, where every item
    // is complete and linked; chunks still being built or read are waited for.
    const SlabAllocator::MovingPage page = slabs_.moving_page();
    if (page.begin == nullptr) continue;
    // The LRU is walked in slices, so that no worker waits on its lock for
    // a whole walk: a class can hold millions of items, and walking 100,000
    // under the lock took about 10 ms (the p99 of a set-heavy workload).
    // Between slices the walk holds a reference to the item it stopped at
    // and resumes there if that item is still in the same segment;
    // otherwise the segment starts again (a few times at most: what a round
    // misses, the next round finds).
    Lru& l = lrus_[page.src];
    for (unsigned seg = 0; seg < kSegments; ++seg) {
      ItemRef cursor;
      for (int restarts = 0; restarts < 4;) {
        ItemRef stopped_at;
        {
          std::lock_guard lru_lock(l.mu);
          Handle h = l.head[seg];
          if (cursor) {
            if (cursor.get()->lru.load(std::memory_order_relaxed) == static_cast<Segment>(seg)) {
              h = slabs_.handle_of(cursor.get());
            } else {
              ++restarts;
            }
          }
          for (unsigned n = 0; h != 0 && n < kMoveSlice; ++n, h = item(h)->next) {
            const char* at = reinterpret_cast<const char*>(item(h));
            if (at >= page.begin && at < page.end) victims.push_back(share(item(h)));
          }
          if (h != 0) stopped_at = share(item(h));
        }
        cursor = std::move(stopped_at);  // the old cursor is released unlocked
        if (!cursor) break;
      }
    }
    // A segment walked again lists some items twice.
    std::sort(victims.begin(), victims.end(),
              [](const ItemRef& a, const ItemRef& b) { return a.get() < b.get(); });
    victims.erase(
        std::unique(victims.begin(), victims.end(),
                    [](const ItemRef& a, const ItemRef& b) { return a.get() == b.get(); }),
        victims.end());
    bool all = true;
    const RelTime now = rel_now();
    for (ItemRef& ref : victims) all = clear_for_move(std::move(ref), now) && all;
    victims.clear();
    if (!all || round > 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

memory::SlabAllocator::MoveStatus Store::reassign(unsigned src, unsigned dst) {
  if (dst == 0) return SlabAllocator::MoveStatus::bad_class;
  const auto status = slabs_.start_move(src, dst, 2);
  if (status == SlabAllocator::MoveStatus::ok) process_move();
  return status;
}

memory::SlabAllocator::MoveStatus Store::reassign_any(unsigned dst) {
  const unsigned src = oldest_class(dst, 2);
  if (src == 0) return SlabAllocator::MoveStatus::bad_class;
  return reassign(src, dst);
}

bool Store::set_memory_limit(std::size_t bytes) {
  if (!slabs_.set_limit(bytes)) return false;
  for (int i = 0; i < 4096 && slabs_.malloced() > slabs_.limit(); ++i) {
    if (slabs_.moving()) {
      if (!process_move()) break;
      continue;
    }
    const unsigned donor = oldest_class(0, 1);
    if (donor == 0 || slabs_.start_move(donor, 0, 1) != SlabAllocator::MoveStatus::ok) break;
    if (!process_move()) break;
  }
  return true;
}

// --- background work -------------------------------------------------------------

std::size_t Store::crawl_stripes(std::size_t first, std::size_t count) {
  if (first == 0) crawler_starts_.fetch_add(1, std::memory_order_relaxed);
  crawlers_running_.fetch_add(1, std::memory_order_relaxed);
  const RelTime now = rel_now();
  std::size_t reclaimed = 0;
  std::vector<Handle> dead;
  std::uint64_t checked[memory::SlabAllocator::kMaxClasses + 1] = {};
  for (std::size_t i = 0; i < count; ++i) {
    Stripe& s = stripes_[(first + i) & stripe_mask_];
    std::lock_guard lock(s.mu);
    dead.clear();
    for (Handle h : s.index) {
      LookupStatus why;
      ++checked[item(h)->cls];
      if (!is_live(item(h), now, &why)) dead.push_back(h);
    }
    for (Handle h : dead) {
      Item* it = item(h);
      {
        Lru& l = lrus_[it->cls];
        std::lock_guard lru_lock(l.mu);
        ++l.crawler_reclaimed;
        if (!it->has(kFetched)) ++l.expired_unfetched;
      }
      unlink_locked(s, it);
      ++reclaimed;
    }
  }
  for (unsigned k = 1; k <= slabs_.num_classes(); ++k) {
    if (checked[k] == 0) continue;
    std::lock_guard lru_lock(lrus_[k].mu);
    lrus_[k].crawler_items_checked += checked[k];
  }
  crawlers_running_.fetch_sub(1, std::memory_order_relaxed);
  return reclaimed;
}

std::size_t Store::crawl_all() {
  return crawl_stripes(0, stripe_mask_ + 1);
}

void Store::automove_step() {
  const RelTime now = rel_now();
  const unsigned level = automove();
  unsigned dst = 0;
  RelTime dst_age = 0;
  for (unsigned c = 1; c <= slabs_.num_classes(); ++c) {
    std::uint64_t evicted;
    {
      std::lock_guard lock(lrus_[c].mu);
      evicted = lrus_[c].evicted;
    }
    const bool evicting = evicted > last_evicted_[c];
    last_evicted_[c] = evicted;
    if (!evicting) continue;
    const RelTime age = tail_age(c, now);
    if (dst == 0 || age < dst_age) {
      dst = c;
      dst_age = age;
    }
  }
  if (dst == 0) {
    // Nobody is short of memory: a class that has kept more than 2.5 pages
    // of free chunks for kReclaimWindow checks in a row, while memory is at
    // its limit, hands a page back to the pool for whichever class needs
    // memory next. memcached waits out a window the same way: a page move
    // drops the items still on the page, so it must not happen every time
    // a class has some free chunks for a moment (it did once a second in
    // the memtier workload, dropping 5% of its items).
    const bool at_limit = slabs_.malloced() + slabs_.page_size() > slabs_.usable_limit();
    for (unsigned c = 1; c <= slabs_.num_classes(); ++c) {
      const auto st = slabs_.class_stats(c);
      const bool spare = st.total_pages >= 3 && st.free_chunks * 2 >= 5 * st.chunks_per_page;
      free_streak_[c] = at_limit && spare ? free_streak_[c] + 1 : 0;
    }
    for (unsigned c = 1; c <= slabs_.num_classes(); ++c) {
      if (free_streak_[c] < kReclaimWindow) continue;
      free_streak_[c] = 0;
      if (slabs_.start_move(c, 0, 2) == SlabAllocator::MoveStatus::ok) process_move();
      return;
    }
    return;
  }
  const unsigned src = oldest_class(dst, 2);
  if (src == 0) return;
  const RelTime src_age = tail_age(src, now);
  // memcached's slab_automove_ratio 0.8: move when the evicting class's
  // oldest item is clearly younger than the oldest item elsewhere.
  if (level >= 2 || static_cast<double>(dst_age) < static_cast<double>(src_age) * 0.8) {
    if (slabs_.start_move(src, dst, 2) == SlabAllocator::MoveStatus::ok) process_move();
  }
}

void Store::maintenance_tick() {
  if (slabs_.moving()) process_move();
  if (slabs_.malloced() > slabs_.limit()) set_memory_limit(slabs_.limit());
  const std::int64_t now = clock_.now();
  if (automove() > 0 && now != last_automove_) {
    last_automove_ = now;
    automove_step();
  }
  if (lru_crawler()) {
    // A full pass over the index about every ten seconds at ten ticks a second.
    const std::size_t n = stripe_mask_ + 1;
    const std::size_t step = std::max<std::size_t>(1, n / 100);
    crawl_stripes(crawl_cursor_, step);
    crawl_cursor_ = (crawl_cursor_ + step) & stripe_mask_;
  }
}

// --- commands ----------------------------------------------------------------------

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
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);

  Outcome local;
  Outcome& out = outcome != nullptr ? *outcome : local;

  if (mode == StoreMode::append || mode == StoreMode::prepend) {
    // The new value depends on the old one. Read the old item under a
    // reference, build the new one unlocked, and link it only if the old one
    // is still current; otherwise start again.
    for (;;) {
      ItemRef old;
      {
        std::lock_guard lock(s.mu);
        Item* it = find_locked(s, hk, rel_now(), &out.status);
        if (it == nullptr) return StoreStatus::not_stored;
        out.cls = it->cls;
        old = share(it);
      }
      const std::size_t new_len = std::size_t{old->value_len} + value.size();
      // memcached: an append that would outgrow the item size limit is
      // NOT_STORED (the value alone fitting, it was taken in).
      if (!item_size_ok(key.size(), new_len)) return StoreStatus::not_stored;
      StoreStatus error;
      Item* fresh =
          allocate(key, old->flags, old->exptime.load(std::memory_order_relaxed), new_len, &error);
      if (fresh == nullptr) return error;
      char* dst = fresh->value_data();
      if (mode == StoreMode::append) {
        std::memcpy(dst, old->value().data(), old->value_len);
        std::memcpy(dst + old->value_len, value.data(), value.size());
      } else {
        std::memcpy(dst, value.data(), value.size());
        std::memcpy(dst + value.size(), old->value().data(), old->value_len);
      }
      std::lock_guard lock(s.mu);
      const RelTime now = rel_now();
      LookupStatus why;
      Item* cur = find_locked(s, hk, now, &why);
      if (cur != old.get()) {
        adopt(fresh).reset();
        continue;
      }
      replace_locked(s, hk, cur, fresh, now);
      if (cas_out != nullptr) *cas_out = fresh->cas_value();
      return StoreStatus::stored;
    }
  }

  StoreStatus error;
  ItemRef pending = begin_store(key, flags, exptime, value.size(), &error);
  if (!pending) {
    if (mode == StoreMode::set) remove(key);  // no stale value may survive a failed set
    return error;
  }
  if (!value.empty()) std::memcpy(pending->value_data(), value.data(), value.size());
  MetaSetOptions opts;
  opts.mode = mode;
  opts.cas = cas_in;
  return finish_store(opts, std::move(pending), cas_out, outcome);
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
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  DeltaResult r;
  for (;;) {
    ItemRef old;
    char buf[24];
    std::size_t len = 0;
    {
      std::lock_guard lock(s.mu);
      Item* it = find_locked(s, hk, rel_now(), &r.lookup);
      if (it == nullptr) {
        r.status = DeltaStatus::not_found;
        return r;
      }
      r.cls = it->cls;
      std::uint64_t value = 0;
      if (!apply_delta(it, incr, delta, value, buf, len)) {
        r.status = DeltaStatus::non_numeric;
        return r;
      }
      r.value = value;
      r.status = DeltaStatus::ok;
      if (rewrite_number_in_place(it, buf, len)) {
        it->cas.store(next_cas(), std::memory_order_relaxed);
        return r;
      }
      old = share(it);
    }
    StoreStatus error;
    Item* fresh =
        allocate(key, old->flags, old->exptime.load(std::memory_order_relaxed), len, &error);
    if (fresh == nullptr) {
      r.status = DeltaStatus::no_memory;
      return r;
    }
    std::memcpy(fresh->value_data(), buf, len);
    std::lock_guard lock(s.mu);
    const RelTime now = rel_now();
    LookupStatus why;
    Item* cur = find_locked(s, hk, now, &why);
    if (cur != old.get()) {
      adopt(fresh).reset();  // changed meanwhile: compute again
      continue;
    }
    replace_locked(s, hk, cur, fresh, now);
    return r;
  }
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

// --- views -------------------------------------------------------------------------

StoreCounters Store::counters() const {
  StoreCounters c;
  for (std::size_t i = 0; i <= stripe_mask_; ++i) {
    c.curr_items += stripes_[i].items.get();
    c.total_items += stripes_[i].total_items.get();
    c.bytes += stripes_[i].bytes.get();
  }
  for (unsigned k = 1; k <= slabs_.num_classes(); ++k) {
    Lru& l = lrus_[k];
    std::lock_guard lock(l.mu);
    c.evictions += l.evicted;
    c.reclaimed += l.reclaimed + l.crawler_reclaimed;
    c.expired_unfetched += l.expired_unfetched;
    c.evicted_unfetched += l.evicted_unfetched;
    c.crawler_reclaimed += l.crawler_reclaimed;
    c.evicted_active += l.evicted_active;
    c.crawler_items_checked += l.crawler_items_checked;
    c.lrutail_reflocked += l.lrutail_reflocked;
    c.moves_to_cold += l.moves_to_cold;
    c.moves_to_warm += l.moves_to_warm;
    c.moves_within_lru += l.moves_within_lru;
    c.direct_reclaims += l.direct_reclaims;
  }
  std::uint64_t slots = 0;
  for (std::size_t i = 0; i <= stripe_mask_; ++i) {
    std::lock_guard lock(stripes_[i].mu);
    slots += stripes_[i].index.bucket_count();
  }
  c.hash_power_level = slots == 0 ? 0 : std::bit_width(slots) - 1;
  // A slot holds a handle; each group of 15 slots has 16 bytes of metadata.
  c.hash_bytes = slots * sizeof(Handle) + (slots + 14) / 15 * 16;
  c.lru_crawler_running = crawlers_running_.load(std::memory_order_relaxed) > 0;
  c.lru_crawler_starts = crawler_starts_.load(std::memory_order_relaxed);
  c.slabs_moved = slabs_moved_.load(std::memory_order_relaxed);
  c.slab_reassign_evictions = reassign_evictions_.load(std::memory_order_relaxed);
  c.slab_reassign_rescues = reassign_rescues_.load(std::memory_order_relaxed);
  c.slab_reassign_busy_items = reassign_busy_.load(std::memory_order_relaxed);
  c.slab_reassign_running = slabs_.moving();
  return c;
}

std::vector<ClassItemStats> Store::item_stats() const {
  std::vector<ClassItemStats> out;
  const RelTime now = rel_now();
  for (unsigned k = 1; k <= slabs_.num_classes(); ++k) {
    Lru& l = lrus_[k];
    std::lock_guard lock(l.mu);
    if (l.total() == 0 && l.evicted == 0 && l.outofmemory == 0 && l.reclaimed == 0 &&
        l.crawler_reclaimed == 0) {
      continue;
    }
    auto age_of = [&](Handle h) -> std::uint64_t {
      if (h == 0) return 0;
      const RelTime t = item(h)->time.load(std::memory_order_relaxed);
      return now > t ? now - t : 0;
    };
    ClassItemStats s;
    s.cls = k;
    s.number = l.total();
    s.number_hot = l.count[0];
    s.number_warm = l.count[1];
    s.number_cold = l.count[2];
    s.age_hot = age_of(l.tail[0]);
    s.age_warm = age_of(l.tail[1]);
    s.age = age_of(l.tail[2] != 0 ? l.tail[2] : l.tail[1] != 0 ? l.tail[1] : l.tail[0]);
    s.mem_requested = l.requested;
    s.evicted = l.evicted;
    s.evicted_nonzero = l.evicted_nonzero;
    s.evicted_time = l.evicted_time;
    s.outofmemory = l.outofmemory;
    s.reclaimed = l.reclaimed;
    s.expired_unfetched = l.expired_unfetched;
    s.evicted_unfetched = l.evicted_unfetched;
    s.evicted_active = l.evicted_active;
    s.crawler_reclaimed = l.crawler_reclaimed;
    s.crawler_items_checked = l.crawler_items_checked;
    s.moves_to_cold = l.moves_to_cold;
    s.moves_to_warm = l.moves_to_warm;
    s.moves_within_lru = l.moves_within_lru;
    s.lrutail_reflocked = l.lrutail_reflocked;
    s.direct_reclaims = l.direct_reclaims;
    out.push_back(s);
  }
  return out;
}

std::vector<std::pair<std::size_t, std::uint64_t>> Store::size_histogram() const {
  std::map<std::size_t, std::uint64_t> buckets;
  for (std::size_t i = 0; i <= stripe_mask_; ++i) {
    Stripe& s = stripes_[i];
    std::lock_guard lock(s.mu);
    for (Handle h : s.index) ++buckets[(item(h)->total_size() + 31) / 32 * 32];
  }
  return {buckets.begin(), buckets.end()};
}

namespace {
ItemInfo info_of(const Item* it, const Store& store) {
  ItemInfo i;
  i.key = std::string(it->key());
  i.value_len = it->value_len;
  const RelTime exp = it->exptime.load(std::memory_order_relaxed);
  i.exptime = exp == 0 ? 0 : store.to_unix(exp);
  i.last_access = store.to_unix(it->time.load(std::memory_order_relaxed));
  i.cas = it->cas_value();
  i.fetched = it->has(kFetched);
  i.key_binary = it->has(kKeyBinary);
  i.cls = it->cls;
  i.total_size = it->total_size();
  return i;
}
}  // namespace

std::vector<ItemInfo> Store::class_items(unsigned cls, unsigned limit) const {
  std::vector<ItemInfo> out;
  if (cls < 1 || cls > slabs_.num_classes()) return out;
  Lru& l = lrus_[cls];
  std::lock_guard lock(l.mu);
  for (unsigned seg = 0; seg < kSegments; ++seg) {
    for (Handle h = l.head[seg]; h != 0; h = item(h)->next) {
      if (limit != 0 && out.size() >= limit) return out;
      if (item(h)->has(kKeyBinary)) continue;
      out.push_back(info_of(item(h), *this));
    }
  }
  return out;
}

std::vector<ItemInfo> Store::all_items(const std::vector<unsigned>& classes) const {
  std::vector<ItemInfo> out;
  for (std::size_t i = 0; i <= stripe_mask_; ++i) {
    Stripe& s = stripes_[i];
    std::lock_guard lock(s.mu);
    for (Handle h : s.index) {
      const Item* it = item(h);
      if (!classes.empty() && std::find(classes.begin(), classes.end(), it->cls) == classes.end()) {
        continue;
      }
      out.push_back(info_of(it, *this));
    }
  }
  return out;
}

// --- meta protocol -----------------------------------------------------------------

Item* Store::make_item(std::string_view key, std::uint32_t flags, RelTime exptime,
                       std::string_view value, StoreStatus* error) {
  Item* it = allocate(key, flags, exptime, value.size(), error);
  if (it != nullptr && !value.empty()) std::memcpy(it->value_data(), value.data(), value.size());
  return it;
}

MetaGetResult Store::meta_get(std::string_view key, const MetaGetOptions& opts) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  MetaGetResult r;
  Item* fresh = nullptr;  // built unlocked when N may need it
  for (int pass = 0; pass < 2; ++pass) {
    {
      std::lock_guard lock(s.mu);
      const RelTime now = rel_now();
      r.now = now;
      Item* it = find_locked(s, hk, now, &r.status);
      if (it == nullptr && opts.vivify && fresh != nullptr) {
        fresh->exptime.store(to_rel_time(opts.vivify_ttl), std::memory_order_relaxed);
        link_locked(s, fresh, now);
        if (opts.has_new_cas) fresh->cas.store(opts.new_cas, std::memory_order_relaxed);
        it = fresh;
        fresh = nullptr;
        r.created = true;
        r.status = LookupStatus::hit;
      }
      if (it != nullptr) {
        r.cls = it->cls;
        r.segment = it->lru.load(std::memory_order_relaxed);
        r.exptime_before = r.created ? 0 : it->exptime.load(std::memory_order_relaxed);
        r.fetched = it->has(kFetched);
        const RelTime t = it->time.load(std::memory_order_relaxed);
        r.idle = now > t ? now - t : 0;
        if (opts.has_cas && !r.created && it->cas_value() != opts.cas) {
          r.cas_mismatch = true;
          r.item = share(it);
          break;
        }
        if (opts.touch) it->exptime.store(to_rel_time(opts.ttl), std::memory_order_relaxed);
        const RelTime exp = it->exptime.load(std::memory_order_relaxed);
        r.token_sent = it->has(kTokenSent);
        r.won = r.created;
        if (opts.recache && !r.token_sent && !r.created && exp != 0 &&
            exp < to_rel_time(opts.recache_ttl)) {
          r.won = true;
        }
        r.stale = it->has(kStale);
        if (r.stale && !r.token_sent) r.won = true;
        if (r.won) it->access.fetch_or(kTokenSent, std::memory_order_relaxed);
        if (!opts.no_bump) touch_access_locked(it, now);
        r.exptime_after = exp;
        r.item = share(it);
        break;
      }
      if (!opts.vivify || pass == 1) break;
    }
    // A miss with N: build the empty item unlocked, then look again.
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
  const bool append = opts.mode == StoreMode::append;
  if (!append && opts.mode != StoreMode::prepend) {
    StoreStatus error;
    ItemRef pending = begin_store(key, flags, exptime, value.size(), &error);
    if (!pending) {
      remove(key);  // no stale value may survive a failed store
      return error;
    }
    if (!value.empty()) std::memcpy(pending->value_data(), value.data(), value.size());
    return finish_store(opts, std::move(pending), cas_out, outcome, size_out);
  }
  // Append/prepend: the new value depends on the old one. Read the old item
  // under a reference, build the new one unlocked, and link it only if the
  // old one is still current; otherwise start again. N creates a missing item.
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  Outcome local;
  Outcome& out = outcome != nullptr ? *outcome : local;
  for (;;) {
    ItemRef old;
    {
      std::lock_guard lock(s.mu);
      if (Item* it = find_locked(s, hk, rel_now(), &out.status)) old = share(it);
      if (!old && !opts.vivify) return StoreStatus::not_stored;
      if (old && opts.has_cas && old->cas_value() != opts.cas) return StoreStatus::exists;
    }
    StoreStatus error;
    Item* it;
    if (old) {
      const std::size_t new_len = std::size_t{old->value_len} + value.size();
      // memcached: an append that would outgrow the item size limit is
      // NOT_STORED (the value alone fitting, it was taken in).
      if (!item_size_ok(key.size(), new_len)) return StoreStatus::not_stored;
      it = allocate(key, old->flags, old->exptime.load(std::memory_order_relaxed), new_len, &error);
      if (it == nullptr) return error;
      char* dst = it->value_data();
      std::memcpy(dst, append ? old->value().data() : value.data(),
                  append ? old->value_len : value.size());
      std::memcpy(dst + (append ? old->value_len : value.size()),
                  append ? value.data() : old->value().data(),
                  append ? value.size() : old->value_len);
    } else {
      it = make_item(key, flags, to_rel_time(opts.vivify_ttl), value, &error);
      if (it == nullptr) {
        remove(key);
        return error;
      }
    }
    std::lock_guard lock(s.mu);
    const RelTime now = rel_now();
    LookupStatus why;
    Item* cur = find_locked(s, hk, now, &why);
    if (cur != nullptr) out.cls = cur->cls;
    if (cur != old.get()) {
      adopt(it).reset();  // changed (or appeared) meanwhile
      continue;
    }
    if (cur != nullptr) {
      replace_locked(s, hk, cur, it, now);
    } else {
      link_locked(s, it, now);
    }
    if (opts.has_new_cas) it->cas.store(opts.new_cas, std::memory_order_relaxed);
    out.cls = it->cls;
    if (cas_out != nullptr) *cas_out = it->cas_value();
    if (size_out != nullptr) *size_out = it->value_len;
    return StoreStatus::stored;
  }
}

MetaDeleteStatus Store::meta_delete(std::string_view key, const MetaDeleteOptions& opts,
                                    Outcome* outcome) {
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  Outcome local;
  Outcome& out = outcome != nullptr ? *outcome : local;
  ItemRef old;
  for (;;) {
    {
      std::lock_guard lock(s.mu);
      const RelTime now = rel_now();
      Item* it = find_locked(s, hk, now, &out.status);
      if (it == nullptr) return MetaDeleteStatus::not_found;
      out.cls = it->cls;
      if (opts.has_cas && it->cas_value() != opts.cas) return MetaDeleteStatus::exists;
      if (opts.invalidate) {
        // Stale, not gone: the next reader wins the right to recache.
        if (opts.has_ttl) it->exptime.store(to_rel_time(opts.ttl), std::memory_order_relaxed);
        it->access.fetch_or(kStale, std::memory_order_relaxed);
        it->access.fetch_and(static_cast<std::uint8_t>(~kTokenSent), std::memory_order_relaxed);
        it->cas.store(opts.has_new_cas ? opts.new_cas : next_cas(), std::memory_order_relaxed);
        return MetaDeleteStatus::deleted;
      }
      if (!opts.remove_value) {
        unlink_locked(s, it);
        return MetaDeleteStatus::deleted;
      }
      if (old && it == old.get()) {
        return MetaDeleteStatus::deleted;  // handled below with the new item
      }
      old = share(it);
    }
    // x: replace the item with an empty one that keeps its key, flags and TTL.
    StoreStatus error;
    Item* fresh =
        make_item(key, old->flags, old->exptime.load(std::memory_order_relaxed), {}, &error);
    if (fresh == nullptr) return MetaDeleteStatus::not_found;
    std::lock_guard lock(s.mu);
    const RelTime now = rel_now();
    LookupStatus why;
    Item* cur = find_locked(s, hk, now, &why);
    if (cur != old.get()) {
      adopt(fresh).reset();
      old.reset();
      continue;
    }
    replace_locked(s, hk, cur, fresh, now);
    if (opts.has_new_cas) fresh->cas.store(opts.new_cas, std::memory_order_relaxed);
    return MetaDeleteStatus::deleted;
  }
}

MetaDeltaResult Store::meta_delta(std::string_view key, const MetaDeltaOptions& opts) {
  using Status = MetaDeltaResult::Status;
  const HashedKey hk = hashed(key);
  Stripe& s = stripe_for(hk.hash);
  MetaDeltaResult r;
  for (;;) {
    ItemRef old;
    char buf[24];
    std::size_t len = 0;
    {
      std::lock_guard lock(s.mu);
      const RelTime now = rel_now();
      r.now = now;
      LookupStatus why;
      Item* it = find_locked(s, hk, now, &why);
      if (it == nullptr) {
        if (!opts.vivify) {
          r.status = Status::not_found;
          return r;
        }
      } else {
        r.cls = it->cls;
        if (opts.has_cas && it->cas_value() != opts.cas) {
          r.status = Status::exists;
          return r;
        }
        std::uint64_t value = 0;
        if (!apply_delta(it, opts.incr, opts.delta, value, buf, len)) {
          r.status = Status::non_numeric;
          return r;
        }
        r.value = value;
        r.status = Status::ok;
        if (rewrite_number_in_place(it, buf, len)) {
          it->cas.store(opts.has_new_cas ? opts.new_cas : next_cas(), std::memory_order_relaxed);
          if (opts.has_ttl) it->exptime.store(to_rel_time(opts.ttl), std::memory_order_relaxed);
          r.cas = it->cas_value();
          r.exptime = it->exptime.load(std::memory_order_relaxed);
          return r;
        }
        old = share(it);
      }
    }
    // A new item: the result of the change, or N's initial value on a miss.
    const bool vivify = !old;
    if (vivify) {
      len = static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, opts.initial).ptr - buf);
      r.value = opts.initial;
    }
    StoreStatus error;
    Item* fresh = make_item(
        key, vivify ? 0 : old->flags,
        vivify ? to_rel_time(opts.vivify_ttl) : old->exptime.load(std::memory_order_relaxed),
        std::string_view(buf, len), &error);
    if (fresh == nullptr) {
      r.status = Status::no_memory;
      return r;
    }
    std::lock_guard lock(s.mu);
    const RelTime now = rel_now();
    LookupStatus why;
    Item* cur = find_locked(s, hk, now, &why);
    if (cur != old.get()) {
      adopt(fresh).reset();  // changed meanwhile: start again
      continue;
    }
    if (cur != nullptr) {
      replace_locked(s, hk, cur, fresh, now);
    } else {
      link_locked(s, fresh, now);
    }
    if (opts.has_new_cas) fresh->cas.store(opts.new_cas, std::memory_order_relaxed);
    if (opts.has_ttl && !vivify) {
      fresh->exptime.store(to_rel_time(opts.ttl), std::memory_order_relaxed);
    }
    r.status = Status::ok;
    r.created = vivify;
    r.cls = fresh->cls;
    r.cas = fresh->cas_value();
    r.exptime = fresh->exptime.load(std::memory_order_relaxed);
    return r;
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
