#pragma once
// What memcoro-bench asks for: keys by pattern, from a fast generator.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "options.hpp"

namespace memcoro::bench {

// xoshiro256** (Blackman and Vigna): the generator is on every request's
// path, and std::mt19937_64 cost the load generator 3% of its CPU.
class Rng {
 public:
  using result_type = std::uint64_t;
  explicit Rng(std::uint64_t seed) {
    for (auto& w : s_) {  // splitmix64 spreads the seed over the state
      seed += 0x9e3779b97f4a7c15ull;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      w = z ^ (z >> 31);
    }
  }
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }
  result_type operator()() {
    const std::uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
  }

 private:
  std::uint64_t s_[4];
};

class Keys {
 public:
  Keys(const Options& o, std::uint64_t seed) : o_(o), rng_(seed), next_(seed % o.key_max) {
    if (o.pattern == "zipf") build_zipf();
  }
  std::uint64_t next() {
    const std::uint64_t n = o_.key_max;
    if (o_.pattern == "sequential") return (next_++ % n) + 1;
    if (o_.pattern == "gaussian") {
      std::normal_distribution<double> d(static_cast<double>(n) / 2, static_cast<double>(n) / 6);
      const double v = std::clamp(d(rng_), 1.0, static_cast<double>(n));
      return static_cast<std::uint64_t>(v);
    }
    if (o_.pattern == "zipf") {
      const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
      return static_cast<std::uint64_t>(std::lower_bound(cdf_->begin(), cdf_->end(), u) -
                                        cdf_->begin()) +
             1;
    }
    return std::uniform_int_distribution<std::uint64_t>(1, n)(rng_);
  }
  Rng& rng() { return rng_; }

 private:
  void build_zipf() {
    static std::shared_ptr<std::vector<double>> shared;
    static std::mutex mu;
    std::lock_guard lock(mu);
    if (!shared) {
      auto cdf = std::make_shared<std::vector<double>>(o_.key_max);
      double sum = 0;
      for (std::uint64_t i = 0; i < o_.key_max; ++i) sum += 1.0 / std::pow(double(i + 1), 0.99);
      double acc = 0;
      for (std::uint64_t i = 0; i < o_.key_max; ++i) {
        acc += 1.0 / std::pow(double(i + 1), 0.99) / sum;
        (*cdf)[i] = acc;
      }
      shared = cdf;
    }
    cdf_ = shared;
  }
  const Options& o_;
  Rng rng_;
  std::uint64_t next_;
  std::shared_ptr<std::vector<double>> cdf_;
};

}  // namespace memcoro::bench
