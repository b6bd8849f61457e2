// execute() over a real store, no sockets: replies and counters.
#include <catch2/catch.hpp>
#include <string>

#include "exec_world.hpp"
#include "memcoro/protocol/text_parser.hpp"

using namespace memcoro;

namespace {
struct Fixture : test::ExecWorld {
  // Runs every request in `in` through a connection (exec::Connection, as
  // the server does) and returns all replies.
  std::string run(std::string_view in) {
    const Result r = feed(in, in.size());
    REQUIRE(r.unread == 0);
    return r.replies;
  }
};
}  // namespace

TEST_CASE_METHOD(Fixture, "storage and retrieval replies") {
  CHECK(run("set a 3 0 2\r\nhi\r\n") == "STORED\r\n");
  CHECK(run("get a b\r\n") == "VALUE a 3 2\r\nhi\r\nEND\r\n");
  CHECK(run("add a 0 0 1\r\nx\r\n") == "NOT_STORED\r\n");
  CHECK(run("replace b 0 0 1\r\nx\r\n") == "NOT_STORED\r\n");
  CHECK(run("append a 0 0 1\r\n!\r\nget a\r\n") == "STORED\r\nVALUE a 3 3\r\nhi!\r\nEND\r\n");
  CHECK(run("set q 0 0 1 noreply\r\nx\r\n").empty());
  CHECK(counters.cmd_set.get() == 5u);  // every storage command counts, as in memcached
  CHECK(counters.cmd_get.get() == 3u);
  CHECK(counters.get_hits.get() == 2u);
  CHECK(counters.get_misses.get() == 1u);
}

TEST_CASE_METHOD(Fixture, "gets returns the CAS that cas needs") {
  run("set a 0 0 1\r\nx\r\n");
  const std::string reply = run("gets a\r\n");
  const auto sp = reply.rfind(' ');
  const std::string cas = reply.substr(sp + 1, reply.find('\r') - sp - 1);
  CHECK(run("cas a 0 0 1 " + cas + "\r\ny\r\n") == "STORED\r\n");
  CHECK(run("cas a 0 0 1 " + cas + "\r\nz\r\n") == "EXISTS\r\n");
  CHECK(run("cas nope 0 0 1 1\r\nz\r\n") == "NOT_FOUND\r\n");
  CHECK(counters.cas_hits.get() == 1u);
  CHECK(counters.cas_badval.get() == 1u);
  CHECK(counters.cas_misses.get() == 1u);
}

TEST_CASE_METHOD(Fixture, "large values are sent from item memory") {
  const std::string big(5000, 'v');
  run("set big 0 0 5000\r\n" + big + "\r\n");
  exec::Output out;
  protocol::Command cmd;
  protocol::parse_text("get big\r\n", cmd);
  exec::execute(cmd, ctx, out);
  int spans = 0;
  std::string all;
  out.for_each_span([&](std::string_view p) {
    ++spans;
    all += p;
  });
  CHECK(spans == 3);  // header, value from the item, END
  CHECK(all == "VALUE big 0 5000\r\n" + big + "\r\nEND\r\n");
}

TEST_CASE_METHOD(Fixture, "touch, delete, incr, flush_all, expiry stats") {
  CHECK(run("set a 0 10 1\r\n5\r\ntouch a 100\r\ntouch b 1\r\n") ==
        "STORED\r\nTOUCHED\r\nNOT_FOUND\r\n");
  CHECK(run("incr a 10\r\ndecr a 100\r\nincr zz 1\r\n") == "15\r\n0\r\nNOT_FOUND\r\n");
  CHECK(run("delete a\r\ndelete a\r\n") == "DELETED\r\nNOT_FOUND\r\n");
  CHECK(run("set e 0 5 1\r\nx\r\n") == "STORED\r\n");
  clock.advance(5);
  CHECK(run("get e\r\n") == "END\r\n");
  CHECK(counters.get_expired.get() == 1u);
  CHECK(run("set f 0 0 1\r\nx\r\nflush_all\r\nget f\r\n") == "STORED\r\nOK\r\nEND\r\n");
  CHECK(counters.get_flushed.get() == 0u);  // freed at once, so a plain miss
  CHECK(run("gat 0 f\r\nversion\r\nmn\r\n") == "END\r\nVERSION memcoro\r\nMN\r\n");
  CHECK(counters.touch_hits.get() == 1u);
  CHECK(counters.touch_misses.get() == 2u);
  CHECK(counters.cmd_flush.get() == 1u);
}

TEST_CASE_METHOD(Fixture, "quit asks for the connection to close") {
  protocol::Command cmd;
  protocol::parse_text("quit\r\n", cmd);
  exec::Output out;
  CHECK(exec::execute(cmd, ctx, out) == exec::After::close);
}

TEST_CASE_METHOD(Fixture, "meta: TTL, idle time and CAS as the clock moves") {
  const std::string set = run("ms k 3 T100 c\r\nabc\r\n");
  REQUIRE(set.rfind("HD c", 0) == 0);
  const std::string cas = set.substr(4, set.size() - 6);
  CHECK(run("mg k t c v\r\n") == "VA 3 t100 c" + cas + "\r\nabc\r\n");
  clock.advance(10);
  CHECK(run("mg k t l h\r\n") == "HD t90 l10 h1\r\n");
  CHECK(run("mg k t T60\r\n") == "HD t90\r\n");  // t before T: the old TTL
  CHECK(run("mg k T30 t\r\n") == "HD t30\r\n");
  clock.advance(30);
  CHECK(run("mg k v\r\n") == "EN\r\n");
  CHECK(run("ma n N0 J5 t v\r\n") == "VA 1 t-1\r\n5\r\n");
  CHECK(run("ma n T50 t v\r\n") == "VA 1 t50\r\n6\r\n");
}

TEST_CASE_METHOD(Fixture, "meta: quiet mode hides only the nominal replies") {
  CHECK(run("ms a 1 q\r\nx\r\nms a 1 q ME\r\ny\r\nmg a q v\r\nmg b q v\r\nmd b q\r\nmn\r\n") ==
        "NS\r\nVA 1\r\nx\r\nNF\r\nMN\r\n");
}

TEST_CASE_METHOD(Fixture, "meta: mg C changes the item only when the CAS matches") {
  const std::string set = run("ms k 3 c\r\nabc\r\n");
  const std::string cas = set.substr(4, set.size() - 6);
  CHECK(run("mg k C" + cas + "1 T30 v\r\n") == "EX\r\n");
  CHECK(run("mg k t\r\n") == "HD t-1\r\n");
  CHECK(run("mg k C" + cas + " T30 t v\r\n") == "VA 3 t30\r\nabc\r\n");
}

// Issue 10: an item stored with a base64 key keeps that fact, as memcached's
// ITEM_KEY_BINARY: mg and me show its key encoded (conformance cases compare
// those with memcached); stats cachedump leaves it out. memcached dumps only
// its COLD segment, so this cannot be compared side by side.
TEST_CASE_METHOD(Fixture, "stats cachedump leaves out items stored with a base64 key") {
  CHECK(run("ms AQI= 2 b\r\nhi\r\nset bar 0 0 2\r\nhi\r\n") == "HD\r\nSTORED\r\n");
  CHECK(run("mg AQI= b k v\r\n") == "VA 2 kAQI= b\r\nhi\r\n");
  CHECK(run("stats cachedump 1 0\r\n") == "ITEM bar [2 b; 0 s]\r\nEND\r\n");
  CHECK(run("stats cachedump 1 1\r\n") == "ITEM bar [2 b; 0 s]\r\nEND\r\n");
  CHECK(run("set AQI= 0 0 2\r\nhi\r\nstats cachedump 1 0\r\n") ==
        "STORED\r\nITEM AQI= [2 b; 0 s]\r\nITEM bar [2 b; 0 s]\r\nEND\r\n");
}

TEST_CASE_METHOD(Fixture, "stats detail counts by key prefix while it is on") {
  stats::PrefixStats prefixes;
  ctx.prefixes = &prefixes;
  CHECK(run("stats detail dump\r\n") == "END\r\n");
  run("set a:1 0 0 1\r\nx\r\n");  // off: not counted
  CHECK(run("stats detail on\r\n") == "OK\r\n");
  run("set a:1 0 0 1\r\nx\r\nadd a:1 0 0 1\r\nx\r\nset b 0 0 1\r\nx\r\n");
  run("get a:1 a:2 b z:9\r\ngets a:1\r\ndelete a:3\r\ndelete a:1\r\n");
  run("mg a:1 v\r\nincr a:1 1\r\ntouch a:1 0\r\n");  // not counted, as in memcached
  const std::string dump =
      "PREFIX a get 3 hit 2 set 2 del 2\r\nPREFIX z get 1 hit 0 set 0 del 0\r\n";
  CHECK(run("stats detail dump\r\n") == dump + "END\r\n");
  CHECK(run("stats detail off\r\n") == "OK\r\n");
  run("get a:1\r\n");
  CHECK(run("stats detail dump\r\n") == dump + "END\r\n");  // off keeps what was counted
  CHECK(run("stats detail\r\n") == "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
  CHECK(run("stats detail sideways\r\n") == "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
  CHECK(run("stats reset\r\nstats detail dump\r\n") == "RESET\r\nEND\r\n");
}

TEST_CASE("stats detail keeps a bounded number of prefixes") {
  stats::PrefixStats prefixes('/');
  prefixes.set_enabled(true);
  for (std::size_t i = 0; i < stats::PrefixStats::kMaxPrefixes + 50; ++i) {
    prefixes.record_set("p" + std::to_string(i) + "/key");
  }
  CHECK(prefixes.size() == stats::PrefixStats::kMaxPrefixes);
  prefixes.record_get("p0/key", true);  // a known prefix still counts
  std::string out;
  prefixes.dump(out);
  CHECK(out.starts_with("PREFIX p0 get 1 hit 1 set 1 del 0\r\n"));
  prefixes.record_get("p0:key", true);  // not this delimiter: no prefix
  CHECK(prefixes.size() == stats::PrefixStats::kMaxPrefixes);
}

TEST_CASE_METHOD(Fixture, "lru tune sizes the HOT and WARM segments") {
  CHECK(run("lru tune 10 30 0.1 2.0\r\n") == "OK\r\n");
  CHECK(store.hot_pct() == 10u);
  CHECK(store.warm_pct() == 30u);
  CHECK(run("lru tune 50 40 0.1 2.0\r\n") == "ERROR hot and warm pcts must not exceed 80\r\n");
  CHECK(run("lru tune 20 40 0 2.0\r\n") == "ERROR hot/warm age factors must be greater than 0\r\n");
  CHECK(run("lru tune 20 x 1 1\r\n") == "ERROR\r\n");
  CHECK(run("lru tune 20 40 1\r\n") == "ERROR\r\n");  // one word short (fuzzing found it)
  CHECK(store.hot_pct() == 10u);                      // refused changes change nothing
  CHECK(run("lru mode segmented\r\nlru mode flat\r\nlru temp_ttl 60\r\n") ==
        "OK\r\nERROR\r\nERROR\r\n");
}
