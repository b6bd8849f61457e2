// Store semantics with a hand-moved clock: no test here sleeps.
#include "memcoro/store/store.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <utility>

using namespace memcoro::store;

namespace {
constexpr std::int64_t kStart = 1'700'000'000;

// Stores value under key whatever is there, through the store's core alone
// (the rules of set/add/cas are exec's, tested in changes_test).
StoreStatus put(Store& st, std::string_view key, std::uint32_t flags, std::int64_t exptime,
                std::string_view value) {
  Store::Allocation a = st.make(key, flags, st.to_rel_time(exptime), value);
  if (!a.item) return a.error;
  st.link(
      std::move(a.item), [](const Item*, Item&, RelTime) { return true; }, [](Item&) {});
  return StoreStatus::stored;
}

struct Fixture {
  ManualClock clock{kStart};
  Store store{StoreConfig{}, clock};

  std::string value(std::string_view key) {
    GetResult r = store.get(key);
    return r.item ? std::string(r.item->value()) : std::string("<miss>");
  }
  StoreStatus set(std::string_view key, std::string_view v, std::int64_t exptime = 0) {
    return put(store, key, 0, exptime, v);
  }
};
}  // namespace

TEST_CASE_METHOD(Fixture, "relative, absolute and negative expiry") {
  set("rel", "x", 10);
  set("abs", "x", kStart + 10);
  set("neg", "x", -1);
  set("past", "x", kStart - 100);
  set("never", "x", 0);
  CHECK(value("neg") == "<miss>");
  CHECK(value("past") == "<miss>");
  clock.advance(9);
  CHECK(value("rel") == "x");
  CHECK(value("abs") == "x");
  clock.advance(1);
  GetResult r = store.get("rel");
  CHECK(r.status == LookupStatus::expired);
  CHECK(value("abs") == "<miss>");
  clock.advance(100 * 86400);
  CHECK(value("never") == "x");
}

TEST_CASE_METHOD(Fixture, "touch and gat change expiry") {
  set("a", "x", 10);
  CHECK(store.touch("a", 100).status == LookupStatus::hit);
  clock.advance(50);
  CHECK(value("a") == "x");
  CHECK(store.get_and_touch("a", 5).item);
  clock.advance(5);
  CHECK(value("a") == "<miss>");
  CHECK(store.touch("a", 100).status == LookupStatus::miss);
}

TEST_CASE_METHOD(Fixture, "flush_all now and later") {
  set("a", "1");
  set("b", "2");
  store.flush_all(0);
  CHECK(store.get("a").status == LookupStatus::miss);  // freed at once
  CHECK(store.counters().curr_items == 0u);
  set("c", "3");
  CHECK(value("c") == "3");  // stored after the flush, same second
  store.flush_all(10);
  clock.advance(5);
  CHECK(value("c") == "3");
  clock.advance(5);
  GetResult r = store.get("c");
  CHECK(r.status == LookupStatus::flushed);
  set("d", "4");
  clock.advance(1);
  CHECK(value("d") == "4");
}

TEST_CASE_METHOD(Fixture, "counters: items and bytes") {
  set("a", "12345");
  set("b", "1");
  StoreCounters c = store.counters();
  CHECK(c.curr_items == 2u);
  CHECK(c.total_items == 2u);
  CHECK(c.bytes == Item::total_size(1, 5) + Item::total_size(1, 1));
  store.remove("a");
  set("b", "22");
  c = store.counters();
  CHECK(c.curr_items == 1u);
  CHECK(c.total_items == 3u);
  CHECK(c.bytes == Item::total_size(1, 2));
}

// --- memory limit, LRU, page moves, crawler -------------------------------------

namespace {
struct Small {
  ManualClock clock{kStart};
  StoreConfig cfg;
  std::unique_ptr<Store> store;
  explicit Small(std::size_t mb, bool evictions = true) {
    cfg.memory_limit = mb << 20;
    cfg.evictions = evictions;
    cfg.automove = 0;
    store = std::make_unique<Store>(cfg, clock);
  }
  StoreStatus set(const std::string& key, std::size_t size) {
    return put(*store, key, 0, 0, std::string(size, 'v'));
  }
  bool has(const std::string& key) { return static_cast<bool>(store->get(key).item); }
};
}  // namespace

TEST_CASE("memory stays under the limit; the least recently used go first") {
  Small s(2);
  // A 500-byte value: about 2000 per 1 MiB page.
  for (int i = 0; i < 10000; ++i)
    REQUIRE(s.set("k" + std::to_string(i), 500) == StoreStatus::stored);
  CHECK(s.store->slabs().malloced() <= 2u << 20);
  const StoreCounters c = s.store->counters();
  CHECK(c.evictions > 0);
  CHECK(c.curr_items + c.evictions == 10000);
  CHECK(s.has("k9999"));
  CHECK_FALSE(s.has("k0"));
  CHECK(c.bytes <= 2u << 20);
}

TEST_CASE("keys that are read survive a stream of one-time writes ten times the cache") {
  Small s(4);
  std::vector<std::string> hot;
  for (int i = 0; i < 500; ++i) {
    hot.push_back("hot" + std::to_string(i));
    REQUIRE(s.set(hot.back(), 500) == StoreStatus::stored);
  }
  // ~40 MiB of one-time writes into a 4 MiB cache, the hot keys read as we go.
  for (int i = 0; i < 80000; ++i) {
    s.set("once" + std::to_string(i), 500);
    if (i % 50 == 0) {
      for (const auto& k : hot) s.store->get(k);
    }
  }
  int alive = 0;
  for (const auto& k : hot) alive += s.has(k);
  CHECK(alive == 500);
  CHECK(s.store->counters().evictions > 70000);
}

TEST_CASE("-M: a full cache refuses writes and evicts nothing") {
  Small s(2, false);
  int stored = 0;
  StoreStatus last = StoreStatus::stored;
  for (int i = 0; i < 10000 && last == StoreStatus::stored; ++i) {
    last = s.set("k" + std::to_string(i), 500);
    stored += last == StoreStatus::stored;
  }
  CHECK(last == StoreStatus::no_memory);
  CHECK(s.store->counters().evictions == 0);
  CHECK(s.has("k0"));
  CHECK(s.store->counters().curr_items == static_cast<std::uint64_t>(stored));
  const auto items = s.store->item_stats();
  REQUIRE_FALSE(items.empty());
  CHECK(items[0].outofmemory >= 1);
}

TEST_CASE("a cache full of small items still takes large ones") {
  Small s(4);
  for (int i = 0; i < 20000; ++i) s.set("small" + std::to_string(i), 100);
  CHECK(s.store->slabs().malloced() == 4u << 20);
  for (int i = 0; i < 20; ++i) {
    INFO(i);
    REQUIRE(s.set("large" + std::to_string(i), 300000) == StoreStatus::stored);
  }
  CHECK(s.has("large19"));
  CHECK(s.store->counters().slabs_moved >= 1);
  CHECK(s.store->slabs().malloced() <= 4u << 20);
}

TEST_CASE("slabs reassign moves a page; its items move to free chunks of their class") {
  Small s(8);
  for (int i = 0; i < 6000; ++i) s.set("a" + std::to_string(i), 500);  // 4 pages
  const unsigned cls = s.store->slabs().class_for(Item::total_size(5, 500));
  const unsigned other = cls + 3;
  const auto before = s.store->slabs().class_stats(cls);
  REQUIRE(before.total_pages >= 3);
  // Two keys in three deleted, across all pages: room for a page's items.
  std::map<std::string, std::uint64_t> kept;
  for (int i = 0; i < 6000; ++i) {
    const std::string key = "a" + std::to_string(i);
    if (i % 3 == 0) {
      kept[key] = s.store->peek(key)->cas;
    } else {
      s.store->remove(key);
    }
  }
  CHECK(s.store->reassign(cls, other) == memcoro::memory::SlabAllocator::MoveStatus::ok);
  CHECK(s.store->slabs().class_stats(cls).total_pages == before.total_pages - 1);
  CHECK(s.store->slabs().class_stats(other).total_pages == 1);
  const StoreCounters c = s.store->counters();
  CHECK(c.slab_reassign_rescues > 0);
  CHECK(c.slab_reassign_evictions == 0);
  CHECK(c.curr_items == kept.size());
  for (const auto& [key, cas] : kept) {
    INFO(key);
    const GetResult r = s.store->get(key);
    REQUIRE(r.item);
    CHECK(r.item->value() == std::string(500, 'v'));
    CHECK(r.item->cas_value() == cas);  // the same item, not a new version
  }
  CHECK(s.store->reassign(other, cls) == memcoro::memory::SlabAllocator::MoveStatus::no_spare);
}

TEST_CASE("slabs reassign drops a page's items when their class has no free chunk") {
  Small s(8);
  const unsigned cls = s.store->slabs().class_for(Item::total_size(5, 500));
  const std::size_t per_page = s.store->slabs().chunks_per_page(cls);
  for (std::size_t i = 0; i < 3 * per_page; ++i) s.set("a" + std::to_string(i), 500);
  REQUIRE(s.store->slabs().class_stats(cls).free_chunks == 0);
  CHECK(s.store->reassign(cls, cls + 3) == memcoro::memory::SlabAllocator::MoveStatus::ok);
  const StoreCounters c = s.store->counters();
  CHECK(c.slab_reassign_rescues == 0);
  CHECK(c.slab_reassign_evictions == per_page);
  CHECK(c.curr_items == 2 * per_page);
}

TEST_CASE("the crawler reclaims expired items without reading them") {
  Small s(8);
  for (int i = 0; i < 1000; ++i) {
    put(*s.store, "e" + std::to_string(i), 0, 10, "v");
    put(*s.store, "p" + std::to_string(i), 0, 0, "v");
  }
  s.clock.advance(11);
  CHECK(s.store->crawl_all() == 1000);
  const StoreCounters c = s.store->counters();
  CHECK(c.curr_items == 1000);
  CHECK(c.crawler_reclaimed == 1000);
  CHECK(c.expired_unfetched == 1000);
  // And the background ticks find them too.
  for (int i = 0; i < 100; ++i) put(*s.store, "f" + std::to_string(i), 0, 5, "v");
  s.clock.advance(6);
  for (int i = 0; i < 200; ++i) s.store->maintenance_tick();
  CHECK(s.store->counters().curr_items == 1000);
}

TEST_CASE("cache_memlimit: growing at once, shrinking by evicting") {
  Small s(8);
  for (int i = 0; i < 20000; ++i) s.set("k" + std::to_string(i), 500);
  CHECK(s.store->slabs().malloced() == 8u << 20);
  REQUIRE(s.store->set_memory_limit(4u << 20));
  CHECK(s.store->slabs().malloced() <= 4u << 20);
  CHECK(s.store->counters().bytes <= 4u << 20);
  REQUIRE(s.store->set_memory_limit(16u << 20));
  for (int i = 0; i < 20000; ++i) s.set("m" + std::to_string(i), 500);
  CHECK(s.store->slabs().malloced() > 8u << 20);
  CHECK(s.store->slabs().malloced() <= 16u << 20);
}

TEST_CASE("automove gives pages to the class that is evicting") {
  ManualClock clock{kStart};
  StoreConfig cfg;
  cfg.memory_limit = 8u << 20;
  cfg.automove = 1;
  Store store(cfg, clock);
  for (int i = 0; i < 40000; ++i) put(store, "s" + std::to_string(i), 0, 0, std::string(100, 'v'));
  clock.advance(600);  // the small items grow old
  const unsigned big = store.slabs().class_for(Item::total_size(6, 5000));
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 300; ++i) {
      put(store, "b" + std::to_string(round * 300 + i), 0, 0, std::string(5000, 'v'));
    }
    clock.advance(1);
    store.maintenance_tick();
  }
  CHECK(store.slabs().class_stats(big).total_pages >= 3);
  CHECK(store.counters().slabs_moved >= 2);
}

// A store with automove on, filled with n 100-byte items of which nine in
// ten are then deleted: one class with many free chunks.
struct SpareClass {
  ManualClock clock{kStart};
  std::unique_ptr<Store> store;
  unsigned cls = 0;
  SpareClass(std::size_t limit, int n) {
    StoreConfig cfg;
    cfg.memory_limit = limit;
    cfg.automove = 1;
    store = std::make_unique<Store>(cfg, clock);
    for (int i = 0; i < n; ++i) put(*store, "s" + std::to_string(i), 0, 0, std::string(100, 'v'));
    at_limit = store->slabs().malloced() + store->slabs().page_size() > store->slabs().limit();
    for (int i = 0; i < n; ++i)
      if (i % 10 != 0) store->remove("s" + std::to_string(i));
    cls = store->slabs().class_for(Item::total_size(6, 100));
  }
  void ticks(int seconds) {
    for (int t = 0; t < seconds; ++t) {
      clock.advance(1);
      store->maintenance_tick();
    }
  }
  bool at_limit = false;
};

TEST_CASE("automove gives spare pages back only after a window, and only at the memory limit") {
  SpareClass s(8u << 20, 100000);
  REQUIRE(s.at_limit);
  const auto before = s.store->slabs().class_stats(s.cls);
  REQUIRE(before.free_chunks > 3 * before.chunks_per_page);
  // Spare pages for less than the window: nothing moves.
  s.ticks(29);
  CHECK(s.store->counters().slabs_moved == 0);
  CHECK(s.store->slabs().class_stats(s.cls).total_pages == before.total_pages);
  // Through the window: one page goes back, then the count starts again.
  s.ticks(3);
  CHECK(s.store->counters().slabs_moved == 1);
  CHECK(s.store->slabs().class_stats(s.cls).total_pages == before.total_pages - 1);
}

TEST_CASE("automove keeps spare pages while memory is below its limit") {
  SpareClass s(64u << 20, 50000);
  REQUIRE(!s.at_limit);
  s.ticks(100);
  CHECK(s.store->counters().slabs_moved == 0);
}

TEST_CASE("an item's packed LRU links keep any two 36-bit handles apart") {
  alignas(8) unsigned char chunk[sizeof(Item)] = {};
  Item* it = new (chunk) Item;
  std::memset(it->links, 0, sizeof it->links);
  const Handle all = (Handle{1} << memcoro::memory::kHandleBits) - 1;
  for (const auto& [prev, next] : {std::pair<Handle, Handle>{0, 0},
                                   {all, 0},
                                   {0, all},
                                   {all, all},
                                   {0x123456789, 0xfedcba987},
                                   {1, all - 1}}) {
    it->set_prev(prev);
    it->set_next(next);
    CHECK(it->prev() == prev);
    CHECK(it->next() == next);
    it->set_next(7);  // changing one leaves the other
    CHECK(it->prev() == prev);
    it->set_prev(9);
    CHECK(it->next() == 7);
  }
  it->set_place(63, Segment::cold);
  CHECK(it->cls() == 63);
  CHECK(it->segment() == Segment::cold);
  it->set_segment(Segment::none);
  CHECK(it->cls() == 63);
  CHECK(it->segment() == Segment::none);
}

TEST_CASE("a store over a kept memory file comes back from its snapshot") {
  char path[] = "/tmp/memcoro-store-test-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  ManualClock clock{kStart};
  StoreConfig config;
  config.memory_file = path;
  config.reserve = config.memory_limit;
  std::string snap;
  std::uint64_t cas_b = 0;
  {
    Store st(config, clock);
    for (int i = 0; i < 5000; ++i)
      put(st, "k" + std::to_string(i), 7, 0, std::string(i % 300, 'v'));
    put(st, "short", 1, 10, "gone");
    cas_b = st.get("k1").item->cas_value();
    snap = st.snapshot();
  }
  clock.advance(20);  // "short" expires while stopped
  config.keep_memory_file = true;
  {
    Store st(config, clock);
    Store::Restored r;
    REQUIRE(st.restore(snap, r) == "");
    CHECK(r.items == 5000);
    CHECK(r.dropped == 1);
    CHECK(st.counters().curr_items == 5000);
    GetResult g = st.get("k299");
    REQUIRE(g.item);
    CHECK(g.item->value() == std::string(299, 'v'));
    CHECK(g.item->flags == 7);
    CHECK(st.get("k1").item->cas_value() == cas_b);
    CHECK_FALSE(st.get("short").item);
    // Memory freed before the stop is reused; new items get new CAS values.
    for (int i = 0; i < 2000; ++i) put(st, "n" + std::to_string(i), 0, 0, "x");
    CHECK(st.get("n0").item->cas_value() > cas_b);
    CHECK(st.get("k4999").item);
    // One store per file: a second would overwrite the first one's items.
    CHECK_THROWS_WITH(Store(config, clock), Catch::Contains("in use by another process"));
  }
  // A snapshot cut short is refused (before anything is restored).
  Store other(config, clock);
  Store::Restored r;
  CHECK(other.restore(snap.substr(0, snap.size() / 2), r) != "");
  unlink(path);
}
