#pragma once
// The most read and most written keys, estimated: each worker thread samples
// one request in kSampleEvery and counts the sampled keys in a space-saving
// summary of kTracked keys per direction (Metwally et al.: a new key takes
// the place of the least counted one and inherits its count as its error),
// over a window of kWindowSeconds kept with the window before it. Memory is
// fixed (key buffers are reused); a sample takes the thread's own mutex,
// which only a reader ever contends.
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "memcoro/stats/sampler.hpp"
#include "memcoro/stats/sink.hpp"

namespace memcoro::stats {

enum class KeyUse : unsigned char { read, write };

// FNV-1a, 64 bits: the hash a report shows when keys are hidden, so that an
// operator can compute it for a key they suspect.
std::uint64_t key_hash(std::string_view key);

struct HotKey {
  std::string key;
  std::uint64_t hash = 0;
  std::uint64_t count = 0;  // sampled occurrences (an overestimate by at most `error`)
  std::uint64_t error = 0;
};

// What a reader takes of one thread: both windows, per direction.
struct HotKeysSample {
  std::array<std::vector<HotKey>, 2> keys;  // read, write
  std::array<std::uint64_t, 2> samples{};   // sampled keys per direction
  std::uint64_t seconds = 0;                // the span the counts cover
};

class HotKeyTracker {
 public:
  static constexpr unsigned kSampleEvery = 64;
  static constexpr unsigned kTracked = 128;
  static_assert(kTracked < 256, "the index keeps slot + 1 in a byte");
  static constexpr std::uint64_t kWindowSeconds = 60;

  // The owner thread, per request: true for one request in kSampleEvery on
  // average. The gaps are random (1 to 2 * kSampleEvery - 1), so that
  // traffic with a period cannot hide a key from every sample.
  bool sample() { return picks_.next(kSampleEvery) != 0; }
  // The owner thread, for each key of a sampled request.
  void record(KeyUse use, std::string_view key, std::uint64_t now_seconds);
  // Any thread.
  HotKeysSample read(std::uint64_t now_seconds);

 private:
  struct Summary {
    // Slot i's hash and count apart from its key, so that the search for
    // the least counted slot reads 1 KiB rather than the slots' 7 KiB.
    std::array<std::uint64_t, kTracked> hashes{};
    std::array<std::uint64_t, kTracked> counts{};
    // The rest of each slot. The first n are in use; the rest keep their
    // key buffers.
    struct Slot {
      std::string key;
      std::uint64_t error = 0;
    };
    std::vector<Slot> slots;
    unsigned n = 0;
    std::uint64_t samples = 0;
    // The slots by hash: open addressing with linear probing, slot + 1 per
    // entry (0: empty), at most half full, so that a key is found, or found
    // missing, in a probe or two. Equal hashes of different keys (FNV can
    // be made to collide) take separate entries.
    static constexpr unsigned kIndex = 2 * kTracked;
    std::array<std::uint8_t, kIndex> index{};
    // No count is below floor (counts only grow; a replaced slot's count
    // grows from the least), and the search for the least starts at
    // cursor, so that under even traffic, where most counts are the floor,
    // it stops within a few slots.
    std::uint64_t floor = 0;
    unsigned cursor = 0;
    void add(std::string_view key, std::uint64_t hash);
    unsigned least();
    static unsigned home(std::uint64_t hash) {
      return static_cast<unsigned>((hash * 0x9e3779b97f4a7c15ull) >> 56);
    }
    void index_insert(unsigned slot);
    void index_erase(unsigned slot);
    void clear() {
      n = 0;
      samples = 0;
      index.fill(0);
      floor = 0;
      cursor = 0;
    }
  };
  struct Window {
    std::array<Summary, 2> uses;
  };
  void roll(std::uint64_t now_seconds);  // with mu_ held

  GapSampler picks_{kSampleEvery};
  std::mutex mu_;
  std::uint64_t start_ = 0;  // when current_ began
  bool started_ = false;
  std::uint64_t previous_seconds_ = 0;  // the span previous_ covers (0: none yet)
  Window current_, previous_;
};

// The threads' samples merged: per direction the `limit` most counted keys,
// each with its estimated rate (requests per second) and share of the
// direction's traffic.
struct HotKeyRow {
  std::string key;
  std::uint64_t hash = 0;
  double rate = 0;
  double share = 0;
};
struct HotKeysReport {
  std::array<std::vector<HotKeyRow>, 2> rows;  // read, write
  std::uint64_t seconds = 0;
};
HotKeysReport merge_hot_keys(const std::vector<HotKeysSample>& threads, std::size_t limit);

// `stats hotkeys`: hot_keys_seconds (the span estimated over),
// hot_keys_sample_every, then per direction and rank (read_1_..., then
// write_1_...): _key (escaped) or, when hidden, _hash (16 hex digits of
// key_hash), _rate (per second) and _share (of that direction's requests).
void hot_keys_report(const HotKeysReport& r, bool hidden, Sink& sink);

// A key as a report shows it: printable ASCII as is, other bytes and the
// backslash as \xNN.
std::string escape_key(std::string_view key);

}  // namespace memcoro::stats
