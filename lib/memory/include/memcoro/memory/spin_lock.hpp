#pragma once
// A lock for critical sections of a few dozen instructions (a list push, a
// free-list pop) taken by every request: spinning briefly is far cheaper
// than a futex sleep and wake. It yields after a while, so that a holder
// preempted on an oversubscribed machine gets to run.
#include <atomic>
#include <thread>

namespace memcoro::memory {

class SpinLock {
 public:
  void lock() noexcept {
    for (;;) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      for (int spins = 0; locked_.load(std::memory_order_relaxed); ++spins) {
        if (spins < 64) {
          __builtin_ia32_pause();
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace memcoro::memory
