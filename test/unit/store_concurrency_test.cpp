// Many threads on one store: no lost update, no torn value.
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "memcoro/store/store.hpp"
#include "text_writes.hpp"

using namespace memcoro::store;
using memcoro::exec::Counted;
using memcoro::exec::StoreMode;
using memcoro::test::text_delta;
using memcoro::test::text_write;

TEST_CASE("concurrent incr loses no update") {
  SystemClock clock;
  Store store(StoreConfig{}, clock);
  text_write(store, StoreMode::set, "n", 0, 0, "0");
  constexpr int kThreads = 8, kEach = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) text_delta(store, "n", true, 1);
    });
  }
  for (auto& t : threads) t.join();
  CHECK(std::string(store.get("n").item->value()) == std::to_string(kThreads * kEach));
}

TEST_CASE("readers never see a torn value") {
  SystemClock clock;
  Store store(StoreConfig{}, clock);
  // Every value is one letter repeated a length that the letter decides; a
  // torn read would mix letters or lengths.
  auto make = [](int i) {
    const int letter = i % 26;
    return std::string(100 + letter * 7, static_cast<char>('a' + letter));
  };
  auto valid = [](std::string_view v) {
    if (v.empty()) return false;
    const int letter = v[0] - 'a';
    if (letter < 0 || letter >= 26 || v.size() != static_cast<std::size_t>(100 + letter * 7)) {
      return false;
    }
    return v.find_first_not_of(v[0]) == std::string_view::npos;
  };
  std::atomic<int> writers_left{2};
  std::atomic<long> torn{0}, reads{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 50000; ++i) {
        if (i % 10 == 9) {
          store.remove("k");
        } else {
          text_write(store, StoreMode::set, "k", 0, 0, make(i + w));
        }
      }
      writers_left--;
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      while (writers_left > 0) {
        GetResult g = store.get("k");
        if (!g.item) continue;
        reads++;
        if (!valid(g.item->value())) torn++;
        if (g.item->value_line().substr(g.item->value().size()) != "\r\n") torn++;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(torn == 0);
  CHECK(reads > 0);
}

TEST_CASE("eviction, page moves and the crawler under concurrent load") {
  SystemClock clock;
  StoreConfig cfg;
  cfg.memory_limit = 4u << 20;
  cfg.automove = 2;
  Store store(cfg, clock);
  // A value's letter decides its length, so any mix-up shows.
  auto make = [](int letter, int scale) {
    return std::string(static_cast<std::size_t>((letter + 1) * scale),
                       static_cast<char>('a' + letter));
  };
  auto valid = [](std::string_view v) {
    if (v.empty()) return false;
    const int letter = v[0] - 'a';
    if (letter < 0 || letter >= 26) return false;
    const std::size_t scale = v.size() / static_cast<std::size_t>(letter + 1);
    return v.size() % static_cast<std::size_t>(letter + 1) == 0 && (scale == 10 || scale == 2000) &&
           v.find_first_not_of(v[0]) == std::string_view::npos;
  };
  std::atomic<bool> stop{false};
  std::atomic<long> bad{0}, stored{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 30000; ++i) {
        const int letter = (i * 7 + w) % 26;
        // The workload shifts from small to large values halfway.
        const int scale = i < 15000 ? 10 : 2000;
        const std::string key = "k" + std::to_string((i * 31 + w) % 5000);
        switch (i % 10) {
          case 0: store.remove(key); break;
          case 1: text_write(store, StoreMode::append, key, 0, 0, ""); break;
          case 2: text_delta(store, key, true, 1); break;
          default:
            if (text_write(store, StoreMode::set, key, 0, i % 3, make(letter, scale)) ==
                StoreStatus::stored) {
              stored++;
            }
        }
      }
    });
  }
  threads.emplace_back([&] {
    while (!stop) {
      for (int i = 0; i < 5000; ++i) {
        GetResult g = store.get("k" + std::to_string(i));
        if (g.item && !valid(g.item->value())) bad++;
      }
    }
  });
  threads.emplace_back([&] {
    while (!stop) store.maintenance_tick();
  });
  for (int w = 0; w < 3; ++w) threads[static_cast<std::size_t>(w)].join();
  stop = true;
  for (std::size_t t = 3; t < threads.size(); ++t) threads[t].join();
  CHECK(bad == 0);
  CHECK(stored > 0);
  CHECK(store.slabs().malloced() <= 4u << 20);
  CHECK(store.counters().bytes <= 4u << 20);
}

TEST_CASE("items rescued from moving pages stay whole for concurrent readers and writers") {
  SystemClock clock;
  StoreConfig cfg;
  cfg.memory_limit = 16u << 20;
  cfg.automove = 0;
  Store store(cfg, clock);
  // A value names its key and its version, padded to one size: one class.
  auto make = [](int key, int version) {
    std::string v = std::to_string(key) + ":" + std::to_string(version) + ":";
    v.resize(400, '.');
    return v;
  };
  constexpr int kKeys = 12000;
  for (int i = 0; i < kKeys; ++i)
    text_write(store, StoreMode::set, "r" + std::to_string(i), 0, 0, make(i, 0));
  // Three keys in four go: the class keeps its pages, a quarter full.
  for (int i = 0; i < kKeys; ++i) {
    if (i % 4 != 0) store.remove("r" + std::to_string(i));
  }
  const unsigned cls = store.slabs().class_for(Item::total_size(6, 400));
  const std::size_t pages = store.slabs().class_stats(cls).total_pages;
  REQUIRE(pages >= 4);
  std::atomic<bool> stop{false};
  std::atomic<long> bad{0}, missing{0};
  auto check = [&](int i, std::string_view v) {
    const std::string prefix = std::to_string(i) + ":";
    if (v.size() != 400 || !v.starts_with(prefix)) bad++;
  };
  std::vector<std::thread> threads;
  threads.emplace_back([&] {  // a writer replacing half the kept keys with new versions
    for (int version = 1; !stop; ++version) {
      for (int i = 0; i < kKeys && !stop; i += 8) {
        text_write(store, StoreMode::set, "r" + std::to_string(i), 0, 0, make(i, version));
      }
    }
  });
  threads.emplace_back([&] {  // a reader of every kept key
    while (!stop) {
      for (int i = 0; i < kKeys; i += 4) {
        GetResult g = store.get("r" + std::to_string(i));
        if (!g.item) {
          missing++;
          continue;
        }
        check(i, g.item->value());
      }
    }
  });
  // Pages leave the class one at a time while the two work.
  const unsigned other = cls + 5;
  std::size_t moved = 0;
  for (std::size_t n = 0; n + 2 < pages; ++n) {
    moved += store.reassign(cls, other) == memcoro::memory::SlabAllocator::MoveStatus::ok;
  }
  stop = true;
  for (auto& t : threads) t.join();
  CHECK(moved == pages - 2);
  const StoreCounters c = store.counters();
  // The keys the writer leaves alone were on the moved pages too: they can
  // only have stayed by being rescued.
  CHECK(c.slab_reassign_rescues > 0);
  CHECK(c.slab_reassign_evictions == 0);
  CHECK(bad == 0);
  CHECK(missing == 0);
  for (int i = 0; i < kKeys; i += 4) {
    GetResult g = store.get("r" + std::to_string(i));
    REQUIRE(g.item);
    check(i, g.item->value());
    if (i % 8 != 0) CHECK(g.item->value() == make(i, 0));
  }
}
