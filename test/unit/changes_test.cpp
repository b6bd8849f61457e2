// The rules of the write commands (exec/changes.cpp) over a store with a
// hand-moved clock: modes, CAS, append/prepend, incr/decr, the item size
// limit. No test here sleeps.
#include "memcoro/exec/changes.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "text_writes.hpp"

using namespace memcoro::store;
using memcoro::exec::Counted;
using memcoro::exec::StoreMode;
using memcoro::test::text_delta;
using memcoro::test::text_write;

namespace {
constexpr std::int64_t kStart = 1'700'000'000;

struct Fixture {
  ManualClock clock{kStart};
  Store store{StoreConfig{}, clock};

  std::string value(std::string_view key) {
    GetResult r = store.get(key);
    return r.item ? std::string(r.item->value()) : std::string("<miss>");
  }
  StoreStatus set(std::string_view key, std::string_view v, std::int64_t exptime = 0) {
    return text_write(store, StoreMode::set, key, 0, exptime, v);
  }
};
}  // namespace

TEST_CASE_METHOD(Fixture, "set, get, replace and delete") {
  CHECK(set("a", "1") == StoreStatus::stored);
  CHECK(value("a") == "1");
  CHECK(text_write(store, StoreMode::add, "a", 0, 0, "2") == StoreStatus::not_stored);
  CHECK(text_write(store, StoreMode::replace, "b", 0, 0, "2") == StoreStatus::not_stored);
  CHECK(text_write(store, StoreMode::replace, "a", 7, 0, "3") == StoreStatus::stored);
  GetResult r = store.get("a");
  REQUIRE(r.item);
  CHECK(r.item->flags == 7u);
  CHECK(r.item->value_line() == "3\r\n");
  CHECK(store.remove("a").status == LookupStatus::hit);
  CHECK(store.remove("a").status == LookupStatus::miss);
  CHECK(value("a") == "<miss>");
}

TEST_CASE_METHOD(Fixture, "append and prepend keep flags and expiry") {
  CHECK(text_write(store, StoreMode::append, "a", 0, 0, "x") == StoreStatus::not_stored);
  text_write(store, StoreMode::set, "a", 5, 100, "mid");
  CHECK(text_write(store, StoreMode::append, "a", 9, 0, ">") == StoreStatus::stored);
  CHECK(text_write(store, StoreMode::prepend, "a", 9, 0, "<") == StoreStatus::stored);
  GetResult r = store.get("a");
  REQUIRE(r.item);
  CHECK(r.item->value() == "<mid>");
  CHECK(r.item->flags == 5u);
  clock.advance(101);
  CHECK(value("a") == "<miss>");
}

TEST_CASE_METHOD(Fixture, "cas: each change gets a new unique") {
  std::uint64_t c1 = 0, c2 = 0;
  text_write(store, StoreMode::set, "a", 0, 0, "1", 0, &c1);
  CHECK(text_write(store, StoreMode::cas, "a", 0, 0, "2", c1 + 1000) == StoreStatus::exists);
  CHECK(text_write(store, StoreMode::cas, "a", 0, 0, "2", c1, &c2) == StoreStatus::stored);
  CHECK(c2 > c1);
  CHECK(text_write(store, StoreMode::cas, "a", 0, 0, "3", c1) == StoreStatus::exists);
  CHECK(text_write(store, StoreMode::cas, "zz", 0, 0, "3", c1) == StoreStatus::not_found);
  CHECK(value("a") == "2");
}

TEST_CASE_METHOD(Fixture, "incr and decr") {
  CHECK(text_delta(store, "n", true, 1).status == Counted::Status::not_found);
  set("n", "10");
  CHECK(text_delta(store, "n", true, 5).value == 15u);
  CHECK(text_delta(store, "n", false, 100).value == 0u);
  set("n", "18446744073709551615");
  CHECK(text_delta(store, "n", true, 2).value == 1u);  // wraps
  set("t", "abc");
  CHECK(text_delta(store, "t", true, 1).status == Counted::Status::non_numeric);
  set("e", "");
  CHECK(text_delta(store, "e", true, 1).status == Counted::Status::non_numeric);
  // A shorter result is padded in place, as memcached does.
  set("p", "100");
  CHECK(text_delta(store, "p", false, 1).value == 99u);
  CHECK(value("p") == "99 ");
  CHECK(text_delta(store, "p", true, 1).value == 100u);
  CHECK(value("p") == "100");
  // A longer result gets a new item.
  CHECK(text_delta(store, "p", true, 1000).value == 1100u);
  CHECK(value("p") == "1100");
}

TEST_CASE_METHOD(Fixture, "a referenced item is never changed in place") {
  set("p", "100");
  GetResult held = store.get("p");
  CHECK(text_delta(store, "p", false, 1).value == 99u);
  CHECK(held.item->value() == "100");
  CHECK(value("p") == "99");
}

TEST_CASE("item size limit") {
  ManualClock clock{kStart};
  StoreConfig cfg;
  cfg.max_item_size = 1024;
  Store store(cfg, clock);
  const std::string fits(1024 - Item::total_size(1, 0), 'v');
  CHECK(text_write(store, StoreMode::set, "a", 0, 0, fits) == StoreStatus::stored);
  CHECK(text_write(store, StoreMode::set, "a", 0, 0, fits + "v") == StoreStatus::too_large);
  CHECK_FALSE(store.get("a").item);  // a failed set leaves no stale value
  text_write(store, StoreMode::set, "b", 0, 0, fits);
  // As memcached: an append that would outgrow the limit is not stored
  // (issue 10: it was too_large, answered SERVER_ERROR), and ms MA the same.
  CHECK(text_write(store, StoreMode::append, "b", 0, 0, "v") == StoreStatus::not_stored);
  CHECK(text_write(store, StoreMode::prepend, "b", 0, 0, "v") == StoreStatus::not_stored);
  CHECK(memcoro::exec::write_value(store, StoreMode::append, "b", 0, 0, "v", {}, true).status ==
        StoreStatus::not_stored);
  CHECK(store.get("b").item->value_len == fits.size());
}
