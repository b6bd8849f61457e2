#include "memcoro/store/clock.hpp"

#include <ctime>

namespace memcoro::store {

std::int64_t SystemClock::now() const {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return ts.tv_sec;
}

}  // namespace memcoro::store
