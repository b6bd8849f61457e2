#pragma once
// Live: the settings in force, read by whoever needs them and changed in one
// place. main owns it; the server reads the numbers it needs per connection
// or request from its atomics; `stats settings`, GET /config and the admin
// port read its snapshot. Every change (PUT /config, reload and SIGHUP, the
// text protocol's verbosity, cache_memlimit, slabs automove, lru_crawler
// enable|disable, lru tune) goes through change(), which runs the appliers
// that the owners of the mechanisms registered and then publishes the
// values, so that every view agrees without asking the mechanisms back.
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "memcoro/config/settings.hpp"

namespace memcoro::config {

class Live {
 public:
  explicit Live(Settings initial);
  Live(const Live&) = delete;
  Live& operator=(const Live&) = delete;

  // Puts `to` into effect in a mechanism (the store's memory limit, its
  // automove...), given `from`, what is in force. A refusal stops the
  // change: the appliers that ran before it are run again from `to` back to
  // `from`, and nothing is published. Register an applier that may refuse
  // before those that cannot (main: the memory limit first).
  using Applier = std::function<std::optional<Rejection>(const Settings& from, const Settings& to)>;
  // Not thread-safe: register them all before the first change.
  void on_change(Applier applier);

  // The one way settings change: all or nothing.
  std::optional<Rejection> change(const Settings& next);
  // The settings in force with `edit` applied, as one change: no other
  // change comes between the read and the write, so a change planned from
  // the settings in force cannot undo one made a moment before. An edit
  // that returns false changes nothing (and knows why: no rejection).
  std::optional<Rejection> change(const std::function<bool(Settings&)>& edit);

  // The whole settings in force, for views.
  Settings snapshot() const;

  // What the server reads on its hot paths (any thread, no lock).
  std::uint32_t conn_limit() const { return conn_limit_.load(std::memory_order_relaxed); }
  std::uint32_t verbosity() const { return verbosity_.load(std::memory_order_relaxed); }
  std::uint32_t idle_timeout() const { return idle_timeout_.load(std::memory_order_relaxed); }
  std::uint32_t drain_timeout() const { return drain_timeout_.load(std::memory_order_relaxed); }
  std::uint64_t conn_reply_limit() const {
    return conn_reply_limit_.load(std::memory_order_relaxed);
  }
  std::uint32_t latency_sample() const { return latency_sample_.load(std::memory_order_relaxed); }

 private:
  // Holds change_mu_.
  std::optional<Rejection> change_locked(const Settings& next);
  void publish_locked(const Settings& next);

  std::mutex change_mu_;  // one change at a time, appliers included
  mutable std::mutex snapshot_mu_;
  Settings settings_;  // under snapshot_mu_ (written under both)
  std::vector<Applier> appliers_;
  std::atomic<std::uint32_t> conn_limit_;
  std::atomic<std::uint32_t> verbosity_;
  std::atomic<std::uint32_t> idle_timeout_;
  std::atomic<std::uint32_t> drain_timeout_;
  std::atomic<std::uint64_t> conn_reply_limit_;
  std::atomic<std::uint32_t> latency_sample_;
};

}  // namespace memcoro::config
