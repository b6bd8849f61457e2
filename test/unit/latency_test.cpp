// The latency histograms: bucket arithmetic, quantiles, the sums readers
// take, and the two views (stats latency, Prometheus).
#include "memcoro/stats/latency.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "memcoro/stats/latency_views.hpp"
#include "memcoro/stats/sink.hpp"

namespace {

using namespace memcoro::stats;

TEST_CASE("each nanosecond value falls in the bucket whose bounds hold it") {
  for (std::uint64_t ns = 0; ns < (std::uint64_t{1} << 34); ns = ns * 5 / 4 + 1) {
    const unsigned i = latency_bucket(ns);
    REQUIRE(i < kLatencyBuckets);
    REQUIRE(latency_bucket_lower(i) <= ns);
    REQUIRE(ns < latency_bucket_lower(i + 1));
    // Never wider than an eighth of its lower bound (above 8 ns).
    if (ns >= 8) REQUIRE(latency_bucket_lower(i + 1) - latency_bucket_lower(i) <= ns / 8 + 1);
  }
  REQUIRE(latency_bucket(std::uint64_t{1} << 40) == kLatencyBuckets - 1);
  // Powers of two are bucket boundaries (Prometheus' le values).
  for (unsigned k = 3; k < 35; ++k) {
    REQUIRE(latency_bucket_lower(latency_bucket(std::uint64_t{1} << k)) == std::uint64_t{1} << k);
  }
}

TEST_CASE("quantiles are within a bucket of the exact ones") {
  LatencyRecorder r;
  for (std::uint64_t us = 1; us <= 1000; ++us) r.record(LatencyOp::get_, us * 1000, 1);
  const LatencyHistogram h = r.snapshot().ops[static_cast<unsigned>(LatencyOp::get_)];
  REQUIRE(h.count == 1000);
  REQUIRE(h.sum_ns == 500500 * 1000);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = q * 1000 * 1000;
    CHECK(h.quantile(q) == Approx(exact).epsilon(0.13));
  }
  REQUIRE(h.quantile(0.5) <= h.quantile(0.9));
  REQUIRE(h.quantile(0.99) <= h.quantile(0.999));
  REQUIRE(LatencyHistogram{}.quantile(0.5) == 0);
}

TEST_CASE("count_below is exact at bucket boundaries") {
  LatencyRecorder r;
  for (std::uint64_t ns : {100, 1023, 1024, 1025, 5000, 2000000}) r.record(LatencyOp::set_, ns, 1);
  const LatencyHistogram h = r.snapshot().ops[static_cast<unsigned>(LatencyOp::set_)];
  REQUIRE(h.count_below(1024) == 2);
  REQUIRE(h.count_below(2048) == 4);
  REQUIRE(h.count_below(std::uint64_t{1} << 30) == 6);
}

TEST_CASE("snapshots add and subtract (the server's sum and its reset baseline)") {
  LatencyRecorder a, b;
  a.record(LatencyOp::mg_, 300, 1);
  b.record(LatencyOp::mg_, 300, 1);
  b.record(LatencyOp::delete_, 7000, 1);
  LatencySnapshot sum = a.snapshot();
  sum += b.snapshot();
  REQUIRE(sum.ops[static_cast<unsigned>(LatencyOp::mg_)].count == 2);
  sum -= a.snapshot();
  REQUIRE(sum.ops[static_cast<unsigned>(LatencyOp::mg_)].count == 1);
  REQUIRE(sum.ops[static_cast<unsigned>(LatencyOp::delete_)].sum_ns == 7000);
}

TEST_CASE("stats latency: count, mean and four percentiles per command, in microseconds") {
  LatencyRecorder r;
  r.record(LatencyOp::touch_, 2000, 1);
  r.record(LatencyOp::touch_, 4000, 1);
  std::string text;
  TextSink sink(text);
  latency_report(r.snapshot(), sink);
  REQUIRE(text.rfind("STAT get_count 0\r\nSTAT get_mean_us 0.000000\r\n", 0) == 0);
  REQUIRE(text.find("STAT touch_count 2\r\nSTAT touch_mean_us 3.000000\r\n") != std::string::npos);
  REQUIRE(text.find("STAT other_p999_us ") != std::string::npos);
  REQUIRE(std::count(text.begin(), text.end(), '\n') == 6 * kLatencyOps);
}

TEST_CASE("Prometheus: cumulative buckets from 1.024 us to 1.07 s, +Inf equal to the count") {
  LatencyRecorder r;
  r.record(LatencyOp::get_, 1500, 1);
  r.record(LatencyOp::get_, 3000000, 1);
  std::string o;
  append_latency_histograms(o, r.snapshot());
  REQUIRE(o.rfind("# HELP memcoro_command_duration_seconds ", 0) == 0);
  REQUIRE(o.find("# TYPE memcoro_command_duration_seconds histogram\n") != std::string::npos);
  const std::string get = "memcoro_command_duration_seconds_bucket{command=\"get\",";
  REQUIRE(o.find(get + "le=\"1.024e-06\"} 0\n") != std::string::npos);
  REQUIRE(o.find(get + "le=\"2.048e-06\"} 1\n") != std::string::npos);
  REQUIRE(o.find(get + "le=\"0.002097152\"} 1\n") != std::string::npos);
  REQUIRE(o.find(get + "le=\"0.004194304\"} 2\n") != std::string::npos);
  REQUIRE(o.find(get + "le=\"+Inf\"} 2\n") != std::string::npos);
  REQUIRE(o.find("memcoro_command_duration_seconds_count{command=\"get\"} 2\n") !=
          std::string::npos);
  REQUIRE(o.find("memcoro_command_duration_seconds_sum{command=\"get\"} 0.0030015\n") !=
          std::string::npos);
  REQUIRE(o.find("memcoro_command_duration_seconds_count{command=\"incr_decr\"} 0\n") !=
          std::string::npos);
}

}  // namespace

namespace {

TEST_CASE("ticks convert to nanoseconds at steady_clock's rate") {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const std::uint64_t c0 = memcoro::stats::ticks_now();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::uint64_t c1 = memcoro::stats::ticks_now();
  const auto t1 = clock::now();
  const double want = std::chrono::duration<double, std::nano>(t1 - t0).count();
  CHECK(static_cast<double>(memcoro::stats::ticks_to_ns(c1 - c0)) == Approx(want).epsilon(0.05));
}

}  // namespace

namespace {

using memcoro::stats::GapSampler;

TEST_CASE("a gap sampler picks one call in `every`, and its weights add up to the calls") {
  for (std::uint32_t every : {1u, 2u, 16u, 64u}) {
    GapSampler s;
    std::uint64_t weights = 0, picks = 0, last_pick = 0;
    constexpr std::uint64_t kCalls = 200000;
    for (std::uint64_t call = 1; call <= kCalls; ++call) {
      const std::uint32_t w = s.next(every);
      if (call == 1) REQUIRE(w == 1);  // the first call is always picked
      if (w == 0) continue;
      REQUIRE(w <= 2 * every - 1);
      weights += w;
      ++picks;
      last_pick = call;
      // Every call up to this pick is counted once.
      REQUIRE(weights == call);
    }
    REQUIRE(kCalls - last_pick <= 2 * every - 2);
    const double mean_gap = static_cast<double>(last_pick) / static_cast<double>(picks);
    CHECK(mean_gap == Approx(every).epsilon(0.05));
  }
}

TEST_CASE("a weighted record counts the requests its pick stands for") {
  LatencyRecorder r;
  r.record(LatencyOp::get_, 2048, 16);
  r.record(LatencyOp::get_, 4096, 4);
  const LatencySnapshot snap = r.snapshot();
  const LatencyHistogram& h = snap.ops[static_cast<unsigned>(LatencyOp::get_)];
  REQUIRE(h.count == 20);
  REQUIRE(h.sum_ns == 2048 * 16 + 4096 * 4);
  REQUIRE(h.count_below(4096) == 16);
  REQUIRE(h.quantile(0.5) < 4096);
  REQUIRE(h.quantile(0.9) >= 4096);
}

}  // namespace
