// The hot keys: sampling, the space-saving summary, windows, the merge of
// the threads, and the report.
#include "memcoro/stats/hot_keys.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <string>
#include <unordered_map>

#include "memcoro/stats/sink.hpp"

namespace {

using namespace memcoro::stats;

TEST_CASE("one request in kSampleEvery is sampled, at random gaps") {
  HotKeyTracker t;
  unsigned sampled = 0, every_nth = 0;
  for (unsigned i = 1; i <= HotKeyTracker::kSampleEvery * 10000; ++i) {
    const bool s = t.sample();
    sampled += s;
    every_nth += s && i % HotKeyTracker::kSampleEvery == 0;
  }
  REQUIRE(sampled == Approx(10000).epsilon(0.05));
  // Not a fixed period: a key that comes every kSampleEvery-th request is not always hit.
  REQUIRE(every_nth < sampled / 4);
}

TEST_CASE("a skewed stream: the heavy keys come first with their counts") {
  HotKeyTracker t;
  // 1000 distinct cold keys (more than kTracked) among two hot ones.
  for (unsigned i = 0; i < 1000; ++i) {
    t.record(KeyUse::read, "cold" + std::to_string(i), 100);
    t.record(KeyUse::read, "hot", 100);
    if (i % 2 == 0) t.record(KeyUse::read, "warm", 100);
  }
  t.record(KeyUse::write, "w", 100);
  const HotKeysReport r = merge_hot_keys({t.read(110)}, 5);
  REQUIRE(r.seconds == 10);
  REQUIRE(r.rows[0].size() == 5);
  REQUIRE(r.rows[0][0].key == "hot");
  REQUIRE(r.rows[0][1].key == "warm");
  // Space-saving never undercounts; "hot" was never evicted, so exactly.
  REQUIRE(r.rows[0][0].rate == Approx(1000.0 * HotKeyTracker::kSampleEvery / 10));
  REQUIRE(r.rows[0][0].share == Approx(1000.0 / 2500));
  REQUIRE(r.rows[1].size() == 1);
  REQUIRE(r.rows[1][0].key == "w");
  REQUIRE(r.rows[1][0].share == 1.0);
}

TEST_CASE("churn: space-saving's guarantees hold, each key once, across windows") {
  // A skewed stream over 5000 keys, far more than kTracked, so that keys
  // are replaced all the time; three windows, so that summaries are reused.
  HotKeyTracker t;
  std::mt19937_64 rng(7);
  std::uint64_t now = 0;
  for (unsigned window = 0; window < 3; ++window, now += HotKeyTracker::kWindowSeconds) {
    std::unordered_map<std::string, std::uint64_t> truth;
    std::uint64_t total = 0;
    for (unsigned i = 0; i < 200000; ++i) {
      // Key j with probability about 1/(j+1), up to 5000.
      const auto j = static_cast<unsigned>(std::exp(std::uniform_real_distribution<>(0, 8.5)(rng)));
      const std::string key = "k" + std::to_string(j % 5000) + "w" + std::to_string(window);
      t.record(KeyUse::read, key, now);
      ++truth[key];
      ++total;
    }
    // (the next window's first record rolls this one into previous)
    const HotKeysSample s = t.read(now + HotKeyTracker::kWindowSeconds - 1);
    std::unordered_map<std::string, const HotKey*> seen;
    std::uint64_t counted = 0;
    for (const HotKey& k : s.keys[0]) {
      if (k.key.back() - '0' != static_cast<int>(window)) continue;  // the previous window's
      REQUIRE(seen.emplace(k.key, &k).second);                       // once only
      counted += k.count;
      // Never under, and over by at most the error.
      REQUIRE(k.count >= truth[k.key]);
      REQUIRE(k.count - k.error <= truth[k.key]);
    }
    REQUIRE(seen.size() == HotKeyTracker::kTracked);
    REQUIRE(counted == total);  // every sample counted once
    // Every key with more than total / kTracked samples is in the summary.
    for (const auto& [key, n] : truth) {
      if (n > total / HotKeyTracker::kTracked) REQUIRE(seen.count(key) == 1);
    }
  }
}

TEST_CASE("windows: the previous window is kept, an older one is dropped") {
  HotKeyTracker t;
  t.record(KeyUse::read, "old", 0);
  t.record(KeyUse::read, "mid", HotKeyTracker::kWindowSeconds);  // rolls: old is previous
  HotKeysSample s = t.read(HotKeyTracker::kWindowSeconds + 5);
  REQUIRE(s.keys[0].size() == 2);
  REQUIRE(s.seconds == HotKeyTracker::kWindowSeconds + 5);
  s = t.read(3 * HotKeyTracker::kWindowSeconds);  // rolls: mid is previous, old gone
  REQUIRE(s.keys[0].size() == 1);
  REQUIRE(s.keys[0][0].key == "mid");
}

TEST_CASE("threads merge by key") {
  HotKeyTracker a, b;
  a.record(KeyUse::read, "k", 1);
  b.record(KeyUse::read, "k", 1);
  b.record(KeyUse::read, "j", 1);
  const HotKeysReport r = merge_hot_keys({a.read(2), b.read(2)}, 10);
  REQUIRE(r.rows[0].size() == 2);
  REQUIRE(r.rows[0][0].key == "k");
  REQUIRE(r.rows[0][0].share == Approx(2.0 / 3));
}

TEST_CASE("the report escapes keys, or shows only their hashes") {
  HotKeyTracker t;
  t.record(KeyUse::read, std::string("a\\b\x01 c", 6), 1);
  const HotKeysReport r = merge_hot_keys({t.read(3)}, 10);
  std::string text;
  TextSink sink(text);
  hot_keys_report(r, false, sink);
  REQUIRE(text.find("STAT hot_keys_seconds 2\r\n") == 0);
  REQUIRE(text.find("STAT read_1_key a\\x5cb\\x01\\x20c\r\n") != std::string::npos);
  REQUIRE(text.find("STAT read_1_rate 32.000000\r\n") != std::string::npos);  // 1 * 64 / 2 s
  REQUIRE(text.find("STAT read_1_share 1.000000\r\n") != std::string::npos);
  text.clear();
  hot_keys_report(r, true, sink);
  REQUIRE(text.find("read_1_key") == std::string::npos);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(key_hash(std::string("a\\b\x01 c", 6))));
  REQUIRE(text.find(std::string("STAT read_1_hash ") + hex + "\r\n") != std::string::npos);
  // FNV-1a's published value for "a".
  REQUIRE(key_hash("a") == 0xaf63dc4c8601ec8cull);
}

}  // namespace
