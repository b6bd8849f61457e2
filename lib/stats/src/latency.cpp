#include "memcoro/stats/latency.hpp"

namespace memcoro::stats {

std::string_view latency_op_name(LatencyOp op) {
  static constexpr std::string_view kNames[] = {
#define MEMCORO_X(name) #name,
      MEMCORO_LATENCY_OPS(MEMCORO_X)
#undef MEMCORO_X
  };
  return kNames[static_cast<unsigned>(op)];
}

LatencyHistogram& LatencyHistogram::operator+=(const LatencyHistogram& o) {
  for (unsigned i = 0; i < kLatencyBuckets; ++i) buckets[i] += o.buckets[i];
  count += o.count;
  sum_ns += o.sum_ns;
  return *this;
}

LatencyHistogram& LatencyHistogram::operator-=(const LatencyHistogram& o) {
  for (unsigned i = 0; i < kLatencyBuckets; ++i) buckets[i] -= o.buckets[i];
  count -= o.count;
  sum_ns -= o.sum_ns;
  return *this;
}

double LatencyHistogram::quantile(double q) const {
  // The bucket counts, not `count`: a reader may see a bucket bumped and
  // the count not yet.
  std::uint64_t total = 0;
  for (std::uint64_t b : buckets) total += b;
  if (total == 0) return 0;
  const double rank = q * static_cast<double>(total);
  std::uint64_t below = 0;
  for (unsigned i = 0; i < kLatencyBuckets; ++i) {
    if (buckets[i] == 0) continue;
    if (static_cast<double>(below + buckets[i]) >= rank) {
      const double lo = static_cast<double>(latency_bucket_lower(i));
      const double hi =
          i + 1 < kLatencyBuckets ? static_cast<double>(latency_bucket_lower(i + 1)) : 2 * lo;
      const double within = (rank - static_cast<double>(below)) / static_cast<double>(buckets[i]);
      return lo + (hi - lo) * (within < 0 ? 0 : within);
    }
    below += buckets[i];
  }
  return static_cast<double>(latency_bucket_lower(kLatencyBuckets - 1));
}

std::uint64_t LatencyHistogram::count_below(std::uint64_t ns) const {
  std::uint64_t n = 0;
  for (unsigned i = 0; i < kLatencyBuckets && latency_bucket_lower(i) < ns; ++i) n += buckets[i];
  return n;
}

LatencySnapshot& LatencySnapshot::operator+=(const LatencySnapshot& o) {
  for (unsigned i = 0; i < kLatencyOps; ++i) ops[i] += o.ops[i];
  return *this;
}

LatencySnapshot& LatencySnapshot::operator-=(const LatencySnapshot& o) {
  for (unsigned i = 0; i < kLatencyOps; ++i) ops[i] -= o.ops[i];
  return *this;
}

LatencyRecorder::LatencyRecorder() {
  (void)ticks_to_ns(0);
  // Each kind its own sequence of gaps.
  for (unsigned op = 0; op < kLatencyOps; ++op) {
    picks_[op] = GapSampler(1, 0x9e3779b97f4a7c15ull * (op + 1));
  }
}

LatencySnapshot LatencyRecorder::snapshot() const {
  LatencySnapshot s;
  for (unsigned op = 0; op < kLatencyOps; ++op) {
    const Slot& from = slots_[op];
    LatencyHistogram& to = s.ops[op];
    for (unsigned i = 0; i < kLatencyBuckets; ++i) {
      to.buckets[i] = from.buckets[i].load(std::memory_order_relaxed);
    }
    to.count = from.count.load(std::memory_order_relaxed);
    to.sum_ns = from.sum_ns.load(std::memory_order_relaxed);
  }
  return s;
}

}  // namespace memcoro::stats
