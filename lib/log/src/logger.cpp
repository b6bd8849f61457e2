#include "memcoro/log/logger.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>

#include "lines.hpp"

namespace memcoro::log {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;
// memcached's keys are at most 250 bytes: 750 encoded, plus the fields.
constexpr std::size_t kLineMax = 1024;
// Room kept beside a line for the "skipped=N" before it (memcached's 128).
constexpr std::size_t kSkipRoom = 128;

constexpr std::string_view kFound[] = {"not_found", "found", "flushed", "expired"};
constexpr std::string_view kStored[] = {"not_stored", "stored",    "exists",
                                        "not_found",  "too_large", "no_memory"};
constexpr std::string_view kCmds[] = {"null", "add", "set", "replace", "append", "prepend", "cas"};
constexpr std::string_view kReasons[] = {"error", "normal", "idle_timeout", "shutdown"};
constexpr std::string_view kTransports[] = {"local", "tcp", "udp"};

template <class E>
int idx(E e) {
  return static_cast<int>(e);
}

// snprintf's count, clipped to what fit (a line never exceeds kLineMax).
std::size_t fitted(int n, std::size_t room) {
  if (n <= 0) return 0;
  return std::min(static_cast<std::size_t>(n), room - 1);
}

}  // namespace

bool Watcher::offer(std::string_view line, bool* sent) {
  std::lock_guard lock(mu_);
  skipped_ += dropped_.exchange(0, kRelaxed);
  if (buf_.size() + line.size() + kSkipRoom > capacity_) {
    ++skipped_;
    full_.store(true, kRelaxed);
    *sent = false;
    return false;
  }
  if (skipped_ > 0) {
    char skip[40];
    const auto end = std::to_chars(skip, skip + sizeof skip, skipped_).ptr;
    buf_.append("skipped=").append(skip, end).push_back('\n');
    skipped_ = 0;
  }
  buf_.append(line);
  *sent = true;
  if (woken_) return false;
  woken_ = true;
  return true;
}

bool Watcher::take(std::string& out) {
  std::lock_guard lock(mu_);
  woken_ = false;
  full_.store(false, kRelaxed);
  if (buf_.empty()) return false;
  if (out.empty()) {
    out.swap(buf_);
  } else {
    out.append(buf_);
    buf_.clear();
  }
  return true;
}

std::shared_ptr<Watcher> Logger::add(std::uint32_t streams, std::function<void()> wake) {
  std::lock_guard lock(mu_);
  if (watchers_.size() >= kMaxWatchers) return nullptr;
  // The watch takes a number of its own: lines numbered before it are not its.
  const std::uint64_t min_gid = gid_.fetch_add(1, kRelaxed) + 1;
  std::shared_ptr<Watcher> w(new Watcher(streams, min_gid, capacity_, std::move(wake)));
  watchers_.push_back(w);
  streams_.fetch_or(streams, kRelaxed);
  return w;
}

void Logger::remove(const std::shared_ptr<Watcher>& w) {
  std::lock_guard lock(mu_);
  std::erase(watchers_, w);
  std::uint32_t streams = 0;
  for (const auto& other : watchers_) streams |= other->streams_;
  streams_.store(streams, kRelaxed);
}

Logger::Counts Logger::counts() const {
  Counts c{written_.load(kRelaxed), skipped_.load(kRelaxed), sent_.load(kRelaxed), 0};
  std::lock_guard lock(mu_);
  c.watchers = watchers_.size();
  return c;
}

void Logger::publish(Stream s, std::uint64_t gid, std::string_view line) {
  std::array<std::shared_ptr<Watcher>, kMaxWatchers> to_wake;
  std::size_t n = 0;
  {
    std::lock_guard lock(mu_);
    for (const auto& w : watchers_) {
      if ((w->streams_ & s) == 0 || gid < w->min_gid_) continue;
      bool sent = false;
      if (w->offer(line, &sent)) to_wake[n++] = w;
      (sent ? sent_ : skipped_).fetch_add(1, kRelaxed);
    }
  }
  // Woken outside the lock: a wake may take the watcher's loop's lock.
  for (std::size_t i = 0; i < n; ++i) to_wake[i]->wake_();
}

bool Logger::skip_if_all_full(Stream s, std::uint64_t gid) {
  std::lock_guard lock(mu_);
  for (const auto& w : watchers_) {
    if ((w->streams_ & s) != 0 && gid >= w->min_gid_ && !w->full()) return false;
  }
  for (const auto& w : watchers_) {
    if ((w->streams_ & s) == 0 || gid < w->min_gid_) continue;
    w->skip();
    skipped_.fetch_add(1, kRelaxed);
  }
  written_.fetch_add(1, kRelaxed);
  return true;
}

template <class Format>
void Logger::emit(Stream s, const Format& format) {
  const std::uint64_t gid = gid_.fetch_add(1, kRelaxed) + 1;
  if (skip_if_all_full(s, gid)) return;
  char line[kLineMax];
  std::size_t len = stamp(line, sizeof line, gid);
  const std::size_t room = sizeof line - len - 1;
  len += fitted(format(line + len, room), room);
  line[len++] = '\n';
  written_.fetch_add(1, kRelaxed);
  publish(s, gid, std::string_view(line, len));
}

namespace {

// A key as a line shows it, for "%.*s".
struct Key {
  explicit Key(std::string_view key) : text(uri_encode(key, buf)) {}
  int len() const { return static_cast<int>(text.size()); }
  char buf[3 * 250];
  std::string_view text;
};

}  // namespace

void Logger::item_get(std::string_view key, Found status, unsigned cls, int cfd, std::size_t size) {
  emit(kFetchers, [&](char* out, std::size_t room) {
    const Key k(key);
    return std::snprintf(out, room, "type=item_get key=%.*s status=%s clsid=%u cfd=%d size=%zu",
                         k.len(), k.text.data(), kFound[idx(status)].data(), cls, cfd, size);
  });
}

void Logger::item_store(std::string_view key, Stored status, StoreCmd cmd, std::uint32_t ttl,
                        unsigned cls, int cfd, std::size_t size) {
  emit(kMutations, [&](char* out, std::size_t room) {
    const Key k(key);
    return std::snprintf(
        out, room, "type=item_store key=%.*s status=%s cmd=%s ttl=%u clsid=%u cfd=%d size=%zu",
        k.len(), k.text.data(), kStored[idx(status)].data(), kCmds[idx(cmd)].data(), ttl, cls, cfd,
        size);
  });
}

void Logger::eviction(std::string_view key, bool fetched, std::int64_t ttl, std::int64_t idle,
                      unsigned cls, std::size_t size) {
  emit(kEvictions, [&](char* out, std::size_t room) {
    const Key k(key);
    return std::snprintf(out, room,
                         "type=eviction key=%.*s fetch=%s ttl=%lld la=%lld clsid=%u size=%zu",
                         k.len(), k.text.data(), fetched ? "yes" : "no",
                         static_cast<long long>(ttl), static_cast<long long>(idle), cls, size);
  });
}

void Logger::conn_new(const Peer& peer, int cfd) {
  emit(kConnEvents, [&](char* out, std::size_t room) {
    return std::snprintf(out, room, "type=conn_new rip=%.*s rport=%u transport=%s cfd=%d",
                         static_cast<int>(peer.ip.size()), peer.ip.data(), unsigned{peer.port},
                         kTransports[idx(peer.transport)].data(), cfd);
  });
}

void Logger::conn_close(const Peer& peer, CloseReason reason, int cfd) {
  emit(kConnEvents, [&](char* out, std::size_t room) {
    return std::snprintf(
        out, room, "type=conn_close rip=%.*s rport=%u transport=%s reason=%s cfd=%d",
        static_cast<int>(peer.ip.size()), peer.ip.data(), unsigned{peer.port},
        kTransports[idx(peer.transport)].data(), kReasons[idx(reason)].data(), cfd);
  });
}

}  // namespace memcoro::log
