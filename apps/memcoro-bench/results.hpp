#pragma once
// What memcoro-bench measured: counts, and latencies in a histogram.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace memcoro::bench {

// Latency histogram: 2 significant digits over nanoseconds to minutes.
class Histogram {
 public:
  void add(std::uint64_t ns) {
    ++count_;
    max_ = std::max(max_, ns);
    buckets_[index(ns)]++;
  }
  void merge(const Histogram& o) {
    count_ += o.count_;
    max_ = std::max(max_, o.max_);
    for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
  }
  double percentile_us(double p) const {
    if (count_ == 0) return 0;
    const auto want =
        static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= want) return static_cast<double>(upper(i)) / 1000.0;
    }
    return static_cast<double>(max_) / 1000.0;
  }
  double max_us() const { return static_cast<double>(max_) / 1000.0; }
  std::uint64_t count() const { return count_; }

 private:
  // Exact below 64 ns; above, 32 buckets per power of two (about 3%).
  static std::size_t index(std::uint64_t ns) {
    if (ns < 64) return static_cast<std::size_t>(ns);
    const unsigned msb = 63u - static_cast<unsigned>(__builtin_clzll(ns));
    return 64 + (msb - 6) * 32 + ((ns >> (msb - 5)) & 31);
  }
  static std::uint64_t upper(std::size_t i) {
    if (i < 64) return i;
    const unsigned msb = 6 + static_cast<unsigned>((i - 64) / 32);
    const std::uint64_t sub = (i - 64) % 32;
    return ((32 + sub) << (msb - 5)) + (std::uint64_t{1} << (msb - 5)) - 1;
  }
  std::uint64_t count_ = 0, max_ = 0;
  std::vector<std::uint64_t> buckets_ = std::vector<std::uint64_t>(64 + 58 * 32, 0);
};

struct Totals {
  std::uint64_t ops = 0, gets = 0, sets = 0, hits = 0, misses = 0, errors = 0;
  std::uint64_t bytes_sent = 0, bytes_received = 0;
  Histogram latency;
  void merge(const Totals& o) {
    ops += o.ops;
    gets += o.gets;
    sets += o.sets;
    hits += o.hits;
    misses += o.misses;
    errors += o.errors;
    bytes_sent += o.bytes_sent;
    bytes_received += o.bytes_received;
    latency.merge(o.latency);
  }
};

}  // namespace memcoro::bench
