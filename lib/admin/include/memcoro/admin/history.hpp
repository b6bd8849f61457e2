#pragma once
// The last 15 minutes, one sample a second, so that a dashboard opened now
// draws them at once: operations per second by command, hit ratio, p99
// service time of get and set, memory used and its limit, items, evictions
// per second, connections. The admin thread samples the Backend each second.
#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "memcoro/stats/latency.hpp"

namespace memcoro::admin {

class Backend;

class History {
 public:
  static constexpr std::size_t kSamples = 900;

  // One sample: `now` in Unix seconds, `elapsed` since the previous one.
  void sample(Backend& backend, std::int64_t now, double elapsed);
  // {"interval": 1, "t": [...], "<series>": [...], ...}: one array per
  // series, oldest first, null where a value is undefined (a hit ratio
  // without lookups, a p99 without requests).
  std::string json() const;

  struct Point {
    std::int64_t t = 0;
    double get = 0, set = 0, del = 0, incr_decr = 0, touch = 0;  // per second
    std::optional<double> hit_ratio;                             // 0..1
    std::optional<double> get_p99_us, set_p99_us;
    double bytes = 0, limit_maxbytes = 0, curr_items = 0, curr_connections = 0;
    double evictions = 0;  // per second
  };

 private:
  mutable std::mutex mu_;
  std::array<Point, kSamples> ring_{};
  std::size_t next_ = 0, size_ = 0;
  std::unordered_map<std::string, double> previous_;  // the general stats last time
  stats::LatencySnapshot previous_latency_{};
  bool have_previous_ = false;
};

}  // namespace memcoro::admin
