#pragma once
// Service time per command kind: from a parsed request to its reply queued,
// in log-linear buckets (8 per power of two of nanoseconds, so a bucket is
// at most 1/8 of its value wide). Each worker thread records into its own
// LatencyRecorder (relaxed loads and stores, no locked instruction); readers
// sum snapshots of them.
//
// Requests are timed one in `latency_sample` of each kind (the first of a
// kind always), at random gaps; a timed request counts with the weight of
// the requests since the previous one was timed. Two clock reads and a
// histogram update on every request of a pipeline cost 5-10% of its
// throughput (benchmarks/RESULTS.md); one in 16 costs a countdown. The
// counts are then exact up to each kind's latest timed request: at most
// 2 * latency_sample - 2 requests per kind and thread are not counted yet.
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <string_view>

#include "memcoro/stats/sampler.hpp"
#include "memcoro/stats/ticks.hpp"

namespace memcoro::stats {

// The command kinds timed apart (exec maps commands onto them). Binary
// requests count with their text counterpart (GETK with get, ADDQ with
// set...).
#define MEMCORO_LATENCY_OPS(X) \
  X(get)                       \
  X(gat)                       \
  X(set)                       \
  X(cas)                       \
  X(delete)                    \
  X(incr_decr)                 \
  X(touch)                     \
  X(mg)                        \
  X(ms)                        \
  X(md)                        \
  X(ma)                        \
  X(other)

enum class LatencyOp : unsigned char {
#define MEMCORO_X(name) name##_,
  MEMCORO_LATENCY_OPS(MEMCORO_X)
#undef MEMCORO_X
};
#define MEMCORO_X(name) +1
inline constexpr unsigned kLatencyOps = 0 MEMCORO_LATENCY_OPS(MEMCORO_X);
#undef MEMCORO_X

std::string_view latency_op_name(LatencyOp op);

// Bucket i holds [lower(i), lower(i + 1)) nanoseconds: below 8 ns one
// bucket per nanosecond, then 8 per power of two up to 2^35 ns (34 s); the
// last bucket also takes everything longer.
inline constexpr unsigned kLatencyBuckets = 8 + 8 * (35 - 3);

constexpr unsigned latency_bucket(std::uint64_t ns) {
  if (ns < 8) return static_cast<unsigned>(ns);
  const unsigned e = static_cast<unsigned>(std::bit_width(ns)) - 1;  // 2^e <= ns
  const unsigned i = 8 + (e - 3) * 8 + static_cast<unsigned>((ns >> (e - 3)) & 7);
  return i < kLatencyBuckets ? i : kLatencyBuckets - 1;
}

constexpr std::uint64_t latency_bucket_lower(unsigned i) {
  if (i < 8) return i;
  const unsigned e = (i - 8) / 8 + 3;
  return (std::uint64_t{8} + (i - 8) % 8) << (e - 3);
}

struct LatencyHistogram {
  std::array<std::uint64_t, kLatencyBuckets> buckets{};
  std::uint64_t count = 0;
  std::uint64_t sum_ns = 0;

  LatencyHistogram& operator+=(const LatencyHistogram& o);
  LatencyHistogram& operator-=(const LatencyHistogram& o);
  // The q-quantile (0 < q <= 1) in nanoseconds, interpolated within its
  // bucket; 0 when empty.
  double quantile(double q) const;
  // How many took less than `ns` (a bucket boundary: exact).
  std::uint64_t count_below(std::uint64_t ns) const;
};

struct LatencySnapshot {
  std::array<LatencyHistogram, kLatencyOps> ops{};

  LatencySnapshot& operator+=(const LatencySnapshot& o);
  LatencySnapshot& operator-=(const LatencySnapshot& o);
};

class LatencyRecorder {
 public:
  // Measures the clock's rate now, at start, rather than in a first request.
  LatencyRecorder();
  // The owning thread, per request of kind `op`: 0 when it is not to be
  // timed, else the weight to record it with (one in `every` is timed).
  std::uint32_t pick(LatencyOp op, std::uint32_t every) {
    return picks_[static_cast<unsigned>(op)].next(every);
  }
  // The owning thread: a picked request took `ns`.
  void record(LatencyOp op, std::uint64_t ns, std::uint32_t weight) {
    Slot& s = slots_[static_cast<unsigned>(op)];
    bump(s.buckets[latency_bucket(ns)], weight);
    bump(s.count, weight);
    bump(s.sum_ns, ns * weight);
  }
  LatencySnapshot snapshot() const;

 private:
  using Counter = std::atomic<std::uint64_t>;
  static void bump(Counter& c, std::uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  struct Slot {
    std::array<Counter, kLatencyBuckets> buckets{};
    Counter count{0};
    Counter sum_ns{0};
  };
  std::array<Slot, kLatencyOps> slots_{};
  std::array<GapSampler, kLatencyOps> picks_;
};

}  // namespace memcoro::stats
