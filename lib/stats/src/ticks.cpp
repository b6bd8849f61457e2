#include "memcoro/stats/ticks.hpp"

#include <thread>

namespace memcoro::stats {

std::uint64_t ns_per_tick_q32() {
#if defined(__x86_64__)
  // The TSC against steady_clock over 5 ms. An interruption between the
  // paired reads skews both ends alike; what is left is a few parts in a
  // million. Without an invariant TSC (constant_tsc), times are off by the
  // frequency change, never wrong in order.
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const std::uint64_t c0 = ticks_now();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto t1 = clock::now();
  const std::uint64_t c1 = ticks_now();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
  if (c1 <= c0 || ns <= 0) return std::uint64_t{1} << 32;
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(ns) << 32) / (c1 - c0));
#else
  // steady_clock's ticks: its period in nanoseconds.
  return (std::uint64_t{1} << 32) * std::chrono::steady_clock::period::num * 1000000000 /
         std::chrono::steady_clock::period::den;
#endif
}

}  // namespace memcoro::stats
