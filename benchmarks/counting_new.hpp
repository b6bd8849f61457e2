#pragma once
// Counts heap allocations for the micro-benchmarks' allocations/op: a
// replacement operator new/delete pair. Include from exactly one source
// file of a benchmark binary.
#include <atomic>
#include <cstdlib>
#include <new>

namespace memcoro::bench {
inline std::atomic<std::uint64_t> allocations{0};
}  // namespace memcoro::bench

void* operator new(std::size_t n) {
  memcoro::bench::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
