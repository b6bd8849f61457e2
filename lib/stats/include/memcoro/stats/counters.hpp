#pragma once
// Every per-thread counter, declared once: name (memcached's), description.
// The struct, the snapshot, the sums and every view of them come from this
// list.
#include <atomic>
#include <cstdint>

#include "memcoro/stats/hot_keys.hpp"
#include "memcoro/stats/latency.hpp"

namespace memcoro::stats {

// The command counters, in the order of memcached's general `stats` (the
// report emits them as one run from this list)...
#define MEMCORO_COMMAND_COUNTERS(X)                                                   \
  X(cmd_get, "Number of get requests (each key of a multi-get counts)")               \
  X(cmd_set, "Number of storage requests")                                            \
  X(cmd_flush, "Number of flush_all requests")                                        \
  X(cmd_touch, "Number of touch requests (each key of gat counts)")                   \
  X(cmd_meta, "Number of meta debug (me) requests: all that memcached 1.6.18 counts") \
  X(get_hits, "Number of keys requested and found")                                   \
  X(get_misses, "Number of keys requested and not found")                             \
  X(get_expired, "Number of keys requested but found expired")                        \
  X(get_flushed, "Number of keys requested but found invalidated by flush_all")       \
  X(delete_misses, "Number of delete requests for missing keys")                      \
  X(delete_hits, "Number of delete requests that removed an item")                    \
  X(incr_misses, "Number of incr requests for missing keys")                          \
  X(incr_hits, "Number of successful incr requests")                                  \
  X(decr_misses, "Number of decr requests for missing keys")                          \
  X(decr_hits, "Number of successful decr requests")                                  \
  X(cas_misses, "Number of cas requests for missing keys")                            \
  X(cas_hits, "Number of successful cas requests")                                    \
  X(cas_badval, "Number of cas requests whose CAS value did not match")               \
  X(touch_hits, "Number of keys touched with a new expiration time")                  \
  X(touch_misses, "Number of touch requests for missing keys")                        \
  X(store_too_large, "Number of items rejected as larger than the item limit")        \
  X(store_no_memory, "Number of items rejected for lack of memory")                   \
  X(auth_cmds, "Number of authentication attempts (SASL AUTH/STEP, ASCII logins)")    \
  X(auth_errors, "Number of failed authentication attempts")

// ... and the rest, which the report shows apart.
#define MEMCORO_THREAD_COUNTERS(X)                                      \
  MEMCORO_COMMAND_COUNTERS(X)                                           \
  X(idle_kicks, "Number of connections closed by the idle timeout")     \
  X(udp_dropped, "UDP datagrams dropped: too short, or multi-datagram") \
  X(bytes_read, "Bytes read from the network")                          \
  X(bytes_written, "Bytes written to the network")

// Per slab class: the first eight as memcached's `stats slabs` reports them;
// hits_to_* split get_hits by the LRU segment the item was in (`stats items`).
#define MEMCORO_CLASS_COUNTERS(X) \
  X(get_hits)                     \
  X(cmd_set)                      \
  X(delete_hits)                  \
  X(incr_hits)                    \
  X(decr_hits)                    \
  X(cas_hits)                     \
  X(cas_badval)                   \
  X(touch_hits)                   \
  X(hits_to_hot)                  \
  X(hits_to_warm)                 \
  X(hits_to_cold)

inline constexpr unsigned kMaxSlabClasses = 64;  // ids 1..63

struct ClassSnapshot {
#define MEMCORO_X(name) std::uint64_t name = 0;
  MEMCORO_CLASS_COUNTERS(MEMCORO_X)
#undef MEMCORO_X
};

// Plain numbers: a sum or a difference of counters.
struct CounterSnapshot {
#define MEMCORO_X(name, help) std::uint64_t name = 0;
  MEMCORO_THREAD_COUNTERS(MEMCORO_X)
#undef MEMCORO_X
  ClassSnapshot classes[kMaxSlabClasses];

  CounterSnapshot& operator+=(const CounterSnapshot& o) {
#define MEMCORO_X(name, help) name += o.name;
    MEMCORO_THREAD_COUNTERS(MEMCORO_X)
#undef MEMCORO_X
    for (unsigned c = 0; c < kMaxSlabClasses; ++c) {
#define MEMCORO_X(name) classes[c].name += o.classes[c].name;
      MEMCORO_CLASS_COUNTERS(MEMCORO_X)
#undef MEMCORO_X
    }
    return *this;
  }
  CounterSnapshot& operator-=(const CounterSnapshot& o) {
#define MEMCORO_X(name, help) name -= o.name;
    MEMCORO_THREAD_COUNTERS(MEMCORO_X)
#undef MEMCORO_X
    for (unsigned c = 0; c < kMaxSlabClasses; ++c) {
#define MEMCORO_X(name) classes[c].name -= o.classes[c].name;
      MEMCORO_CLASS_COUNTERS(MEMCORO_X)
#undef MEMCORO_X
    }
    return *this;
  }
};

// One worker thread's counters. Only that thread writes them (a relaxed
// load and store, no locked instruction); any thread may read them.
class ThreadCounters {
 public:
  struct Counter {
    std::atomic<std::uint64_t> v{0};
    void add(std::uint64_t n = 1) {
      v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    std::uint64_t get() const { return v.load(std::memory_order_relaxed); }
  };
#define MEMCORO_X(name, help) Counter name;
  MEMCORO_THREAD_COUNTERS(MEMCORO_X)
#undef MEMCORO_X
  struct Class {
#define MEMCORO_X(name) Counter name;
    MEMCORO_CLASS_COUNTERS(MEMCORO_X)
#undef MEMCORO_X
  };
  Class classes[kMaxSlabClasses];
  // Service time per command kind (latency.hpp); apart from snapshot().
  LatencyRecorder latency;
  // The keys of one request in HotKeyTracker::kSampleEvery (hot_keys.hpp).
  HotKeyTracker hot_keys;
  Class& cls(unsigned id) {
    return classes[id < kMaxSlabClasses ? id : 0];
  }

  CounterSnapshot snapshot() const {
    CounterSnapshot s;
#define MEMCORO_X(name, help) s.name = name.get();
    MEMCORO_THREAD_COUNTERS(MEMCORO_X)
#undef MEMCORO_X
    for (unsigned c = 0; c < kMaxSlabClasses; ++c) {
#define MEMCORO_X(name) s.classes[c].name = classes[c].name.get();
      MEMCORO_CLASS_COUNTERS(MEMCORO_X)
#undef MEMCORO_X
    }
    return s;
  }
};

}  // namespace memcoro::stats
