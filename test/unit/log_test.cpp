// lib/log: the watch streams' buffering, numbering and line formats.
#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <vector>

#include "memcoro/log/logger.hpp"

using namespace memcoro;

namespace {

// The line without its "ts=... gid=N " prefix.
std::string body(const std::string& line) {
  return std::regex_replace(line, std::regex("^ts=\\d+\\.\\d+ gid=\\d+ "), "");
}

}  // namespace

TEST_CASE("watch's stream names, fetchers by default") {
  const std::vector<std::string_view> none;
  CHECK(log::parse_streams(none) == log::kFetchers);
  const std::vector<std::string_view> two{"mutations", "evictions"};
  CHECK(log::parse_streams(two) == (log::kMutations | log::kEvictions));
  const std::vector<std::string_view> bad{"fetchers", "FETCHERS"};
  CHECK(log::parse_streams(bad) == 0);
}

TEST_CASE("a watcher gets the lines of its streams only, in memcached's format") {
  log::Logger logger;
  CHECK_FALSE(logger.wants(log::kFetchers));
  int wakes = 0;
  auto w = logger.add(log::kFetchers, [&] { ++wakes; });
  CHECK(logger.wants(log::kFetchers));
  CHECK_FALSE(logger.wants(log::kMutations));
  logger.item_get("a,b c", log::Found::found, 1, 22, 5);
  logger.item_get("k", log::Found::not_found, 0, 22, 0);
  logger.item_store("k", log::Stored::stored, log::StoreCmd::set, 0, 1, 22, 5);
  CHECK(wakes == 1);  // once until the lines are taken
  std::string out;
  REQUIRE(w->take(out));
  const auto nl = out.find('\n');
  CHECK(body(out.substr(0, nl)) ==
        "type=item_get key=a%2Cb%20c status=found clsid=1 cfd=22 size=5");
  CHECK(body(out.substr(nl + 1)) == "type=item_get key=k status=not_found clsid=0 cfd=22 size=0\n");
  std::string none;
  CHECK_FALSE(w->take(none));
  logger.remove(w);
  CHECK_FALSE(logger.wants(log::kFetchers));
}

TEST_CASE("a full watcher drops lines and then says how many") {
  log::Logger logger(1024);  // room for a few lines
  auto w = logger.add(log::kEvictions, [] {});
  for (int i = 0; i < 50; ++i) logger.eviction("key", false, -1, 3, 2, 10);
  const log::Logger::Counts c = logger.counts();
  CHECK(c.sent + c.skipped == 50);
  CHECK(c.skipped > 0);
  std::string out;
  REQUIRE(w->take(out));
  logger.eviction("last", true, 100, 0, 2, 10);
  std::string tail;
  REQUIRE(w->take(tail));
  const std::string skipped = "skipped=" + std::to_string(c.skipped) + "\n";
  REQUIRE(tail.starts_with(skipped));
  CHECK(body(tail.substr(skipped.size())) ==
        "type=eviction key=last fetch=yes ttl=100 la=0 clsid=2 size=10\n");
}

TEST_CASE("at most 20 watchers; connection lines from memcoro's addresses") {
  log::Logger logger;
  std::vector<std::shared_ptr<log::Watcher>> ws;
  for (std::size_t i = 0; i < log::Logger::kMaxWatchers; ++i) {
    ws.push_back(logger.add(log::kConnEvents, [] {}));
  }
  CHECK(logger.add(log::kConnEvents, [] {}) == nullptr);
  logger.conn_new(log::parse_peer("tcp6:[::1]:4567"), 30);
  logger.conn_close(log::parse_peer("unix:pid=1,uid=0"), log::CloseReason::idle_timeout, 31);
  std::string out;
  REQUIRE(ws[0]->take(out));
  const auto nl = out.find('\n');
  CHECK(body(out.substr(0, nl)) == "type=conn_new rip=::1 rport=4567 transport=tcp cfd=30");
  CHECK(body(out.substr(nl + 1)) ==
        "type=conn_close rip=unix rport=0 transport=local reason=idle_timeout cfd=31\n");
}
