#pragma once
// Picks one event in `every`, at random gaps (1 to 2 * every - 1, mean
// `every`), so that traffic with a period can neither hide from the picks
// nor be all they see. The owner thread only; an xorshift64 state, no lock.
#include <cstdint>

namespace memcoro::stats {

class GapSampler {
 public:
  // `first`: how many calls until the first pick (1: the first call).
  explicit GapSampler(std::uint32_t first = 1, std::uint64_t seed = 0x9e3779b97f4a7c15ull)
      : left_(first), gap_(first), rng_(seed | 1) {}

  // 0 when this call is not picked; else how many calls the pick stands
  // for: those since the previous pick, this one included (its weight).
  // A new `every` takes effect from the gap after the current one.
  std::uint32_t next(std::uint32_t every) {
    if (--left_ != 0) return 0;
    const std::uint32_t weight = gap_;
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    gap_ = every <= 1 ? 1 : 1 + static_cast<std::uint32_t>(rng_ % (2 * std::uint64_t{every} - 1));
    left_ = gap_;
    return weight;
  }

 private:
  std::uint32_t left_;
  std::uint32_t gap_;
  std::uint64_t rng_;
};

}  // namespace memcoro::stats
