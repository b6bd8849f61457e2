#pragma once
#include <atomic>
#include <cstdint>

namespace memcoro::store {

// Wall-clock seconds (Unix time). Injected so that expiry is testable
// without sleeping.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now() const = 0;
};

// The real clock: a coarse (jiffy-resolution) read of CLOCK_REALTIME.
class SystemClock final : public Clock {
 public:
  std::int64_t now() const override;
};

// A clock the test moves by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start) : now_(start) {}
  std::int64_t now() const override { return now_.load(std::memory_order_relaxed); }
  void advance(std::int64_t seconds) { now_.fetch_add(seconds, std::memory_order_relaxed); }
  void set(std::int64_t t) { now_.store(t, std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace memcoro::store
