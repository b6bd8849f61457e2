#pragma once
// Service time per command kind: from a parsed request to its reply queued,
// in log-linear buckets (8 per power of two of nanoseconds, so a bucket is
// at most 1/8 of its value wide). Each worker thread records into its own
// LatencyRecorder (a relaxed load and store per request, no locked
// instruction); readers sum snapshots of them.
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <string_view>

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
  LatencyRecorder() { (void)ticks_to_ns(0); }
  // Only the owning thread calls this.
  void record(LatencyOp op, std::uint64_t ns) {
    Slot& s = slots_[static_cast<unsigned>(op)];
    bump(s.buckets[latency_bucket(ns)], 1);
    bump(s.count, 1);
    bump(s.sum_ns, ns);
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
};

}  // namespace memcoro::stats
