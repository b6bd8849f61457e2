#include "memcoro/config/live.hpp"

namespace memcoro::config {

Live::Live(Settings initial)
    : settings_(std::move(initial)),
      conn_limit_(settings_.conn_limit),
      verbosity_(settings_.verbosity),
      idle_timeout_(settings_.idle_timeout),
      drain_timeout_(settings_.drain_timeout),
      conn_reply_limit_(settings_.conn_reply_limit),
      latency_sample_(settings_.latency_sample) {}

void Live::on_change(Applier applier) {
  appliers_.push_back(std::move(applier));
}

Settings Live::snapshot() const {
  std::lock_guard lock(snapshot_mu_);
  return settings_;
}

std::optional<Rejection> Live::change(const Settings& next) {
  std::lock_guard lock(change_mu_);
  return change_locked(next);
}

std::optional<Rejection> Live::change(const std::function<bool(Settings&)>& edit) {
  std::lock_guard lock(change_mu_);
  Settings next = snapshot();
  if (!edit(next)) return std::nullopt;
  return change_locked(next);
}

std::optional<Rejection> Live::change_locked(const Settings& next) {
  const Settings current = snapshot();
  for (std::size_t i = 0; i < appliers_.size(); ++i) {
    if (auto refused = appliers_[i](current, next)) {
      while (i-- > 0) (void)appliers_[i](next, current);
      return refused;
    }
  }
  publish_locked(next);
  return std::nullopt;
}

void Live::publish_locked(const Settings& next) {
  conn_limit_.store(next.conn_limit, std::memory_order_relaxed);
  verbosity_.store(next.verbosity, std::memory_order_relaxed);
  idle_timeout_.store(next.idle_timeout, std::memory_order_relaxed);
  drain_timeout_.store(next.drain_timeout, std::memory_order_relaxed);
  conn_reply_limit_.store(next.conn_reply_limit, std::memory_order_relaxed);
  latency_sample_.store(next.latency_sample, std::memory_order_relaxed);
  std::lock_guard lock(snapshot_mu_);
  settings_ = next;
}

}  // namespace memcoro::config
