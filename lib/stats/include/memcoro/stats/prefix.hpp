#pragma once
// memcached's `stats detail`: per key-prefix counts of gets, hits, sets and
// deletes, kept only while turned on (`stats detail on`). The prefix is the
// key up to the first delimiter (':' unless -D says otherwise); keys without
// one are not counted. Counting takes one process-wide lock, as memcached's
// does, which is why it is off by default; while off, a request pays one
// relaxed load.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace memcoro::stats {

class PrefixStats {
 public:
  // memcached keeps every prefix it sees; a client sending random prefixes
  // would grow that without bound. Past this many, new prefixes are not
  // counted (the ones already known still are).
  static constexpr std::size_t kMaxPrefixes = 10000;

  explicit PrefixStats(char delimiter = ':') : delimiter_(delimiter) {}

  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  void set_enabled(bool on) { enabled_.store(on, std::memory_order_relaxed); }

  void record_get(std::string_view key, bool hit);
  void record_set(std::string_view key);
  void record_delete(std::string_view key);

  // "PREFIX <prefix> get <n> hit <n> set <n> del <n>\r\n" per prefix, by
  // name, then "END\r\n".
  void dump(std::string& out) const;
  void clear();
  std::size_t size() const;

 private:
  struct Counts {
    std::uint64_t get = 0, hit = 0, set = 0, del = 0;
  };
  // The counts of the key's prefix, under mu_; null if the key has none or
  // the table is full.
  Counts* find_locked(std::string_view key);

  const char delimiter_;
  std::atomic<bool> enabled_{false};
  mutable std::mutex mu_;
  std::map<std::string, Counts, std::less<>> counts_;
};

}  // namespace memcoro::stats
