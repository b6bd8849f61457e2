#pragma once
// memcached's log streams for `watch`: worker threads report what happens
// (an item fetched, stored, evicted; a connection opened or closed), and
// every watcher that asked for that stream gets the line, in memcached's
// format, in a bounded buffer of its own. Nobody watching costs one relaxed
// atomic load per event (wants()). A watcher that reads slowly never slows
// the cache: once its buffer is full its lines are dropped and counted, and
// the next line that fits is preceded by "skipped=N".
//
// Threads: any thread may report events and add or remove watchers; a
// watcher's lines are taken by its own connection's thread, which add()'s
// wake function tells (from the reporting thread) when lines arrive.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace memcoro::log {

// The streams, as `watch` names them (memcached's LOG_* bits).
enum Stream : std::uint32_t {
  kRawCmds = 1u << 0,
  kEvictions = 1u << 1,
  kFetchers = 1u << 2,
  kMutations = 1u << 3,
  kSysEvents = 1u << 4,
  kConnEvents = 1u << 5,
  kProxyReqs = 1u << 6,
  kProxyEvents = 1u << 7,
  kProxyUser = 1u << 8,
};

// `watch`'s arguments: the streams they name (none: fetchers, memcached's
// default), or 0 if one is not a stream's name.
std::uint32_t parse_streams(std::span<const std::string_view> names);

// What a lookup found (memcached's item_get status names).
enum class Found : std::uint8_t { not_found, found, flushed, expired };
// What a store did (item_store's status) and which command (its cmd).
enum class Stored : std::uint8_t { not_stored, stored, exists, not_found, too_large, no_memory };
enum class StoreCmd : std::uint8_t { null, add, set, replace, append, prepend, cas };
// Why a connection closed, and what carried it (conn_close's reason, transport).
enum class CloseReason : std::uint8_t { error, normal, idle_timeout, shutdown };
enum class Transport : std::uint8_t { local, tcp, udp };

// A connection's peer as conn_new/conn_close show it.
struct Peer {
  std::string_view ip;  // "unix" for a unix socket
  std::uint16_t port = 0;
  Transport transport = Transport::tcp;
};
// Splits memcoro's "tcp:ADDR:PORT", "tcp6:[ADDR]:PORT" or "unix:PATH".
Peer parse_peer(std::string_view described);
// The other way: a TCP address (its text, IPv6 if it holds ':') and port as
// `stats conns` and the connevents lines show them.
std::string describe_tcp(std::string_view address, std::uint16_t port);

class Logger;

// One watching connection's lines.
class Watcher {
 public:
  // Moves the lines waiting (and any "skipped=N" before them) to the end
  // of out; false if there were none. The next line to arrive wakes again.
  bool take(std::string& out);

 private:
  friend class Logger;
  Watcher(std::uint32_t streams, std::uint64_t min_gid, std::size_t capacity,
          std::function<void()> wake)
      : streams_(streams), min_gid_(min_gid), capacity_(capacity), wake_(std::move(wake)) {}
  // Appends a line unless the buffer is full; true if the watcher is to be woken.
  bool offer(std::string_view line, bool* sent);
  // Whether a line did not fit since the lines were last taken: the next
  // lines are dropped without being formatted. No lock.
  bool full() const { return full_.load(std::memory_order_relaxed); }
  void skip() { dropped_.fetch_add(1, std::memory_order_relaxed); }

  const std::uint32_t streams_;
  const std::uint64_t min_gid_;  // lines numbered before the watch began are not its
  const std::size_t capacity_;
  const std::function<void()> wake_;
  std::mutex mu_;
  std::string buf_;
  std::uint64_t skipped_ = 0;
  bool woken_ = false;  // a wake is on its way and the lines not yet taken
  std::atomic<bool> full_{false};
  std::atomic<std::uint64_t> dropped_{0};  // skipped while full_, not yet in skipped_
};

class Logger {
 public:
  static constexpr std::size_t kMaxWatchers = 20;  // memcached's WATCHER_LIMIT
  // capacity: each watcher's buffer (memcached's watcher_logbuf_size).
  explicit Logger(std::size_t capacity = 256 * 1024) : capacity_(capacity) {}

  bool wants(Stream s) const { return (streams_.load(std::memory_order_relaxed) & s) != 0; }

  // A new watcher of `streams`; wake is called, from whichever thread
  // reports, when lines wait for it. Null when kMaxWatchers are watching.
  std::shared_ptr<Watcher> add(std::uint32_t streams, std::function<void()> wake);
  void remove(const std::shared_ptr<Watcher>& w);

  // The events (check wants() first; these format the line).
  void item_get(std::string_view key, Found status, unsigned cls, int cfd, std::size_t size);
  void item_store(std::string_view key, Stored status, StoreCmd cmd, std::uint32_t ttl,
                  unsigned cls, int cfd, std::size_t size);
  // ttl: seconds left, -1 for none; idle: seconds since its last access.
  void eviction(std::string_view key, bool fetched, std::int64_t ttl, std::int64_t idle,
                unsigned cls, std::size_t size);
  void conn_new(const Peer& peer, int cfd);
  void conn_close(const Peer& peer, CloseReason reason, int cfd);

  // memcached's log_* stats.
  struct Counts {
    std::uint64_t written = 0;  // log_worker_written
    std::uint64_t skipped = 0;  // log_watcher_skipped
    std::uint64_t sent = 0;     // log_watcher_sent
    std::uint64_t watchers = 0;
  };
  Counts counts() const;

 private:
  // Numbers the line (gid=), stamps it (ts=), has `format(out, room)`
  // write the rest (snprintf's result) and hands it to the watchers of s.
  template <class Format>
  void emit(Stream s, const Format& format);
  // When every watcher of s is full: counts the line as skipped for each,
  // and true, so that it is never formatted (a stalled watcher must cost
  // the workers as little as possible).
  bool skip_if_all_full(Stream s, std::uint64_t gid);
  void publish(Stream s, std::uint64_t gid, std::string_view line);

  const std::size_t capacity_;
  std::atomic<std::uint32_t> streams_{0};
  std::atomic<std::uint64_t> gid_{0};
  std::atomic<std::uint64_t> written_{0}, skipped_{0}, sent_{0};
  mutable std::mutex mu_;  // the list; never held while a watcher is woken
  std::vector<std::shared_ptr<Watcher>> watchers_;
};

}  // namespace memcoro::log
