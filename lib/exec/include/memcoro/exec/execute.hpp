#pragma once
// execute(): one parsed request against the store, its reply appended to an
// Output. Synchronous and socket-free, so it is tested without a server.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "memcoro/exec/auth.hpp"
#include "memcoro/exec/changes.hpp"
#include "memcoro/exec/connection.hpp"
#include "memcoro/exec/output.hpp"
#include "memcoro/log/logger.hpp"
#include "memcoro/protocol/command.hpp"
#include "memcoro/stats/counters.hpp"
#include "memcoro/stats/prefix.hpp"
#include "memcoro/stats/sink.hpp"
#include "memcoro/stats/ticks.hpp"
#include "memcoro/store/store.hpp"

namespace memcoro::exec {

// What the server, not the store, answers: stats, verbosity, version.
class ServerControl {
 public:
  virtual ~ServerControl() = default;
  // The `stats [args...]` reports only the server knows (general, settings,
  // conns), into `sink`; false if args name none of them.
  virtual bool report(std::span<const std::string_view> args, stats::Sink& sink) = 0;
  virtual void reset_stats() = 0;
  // Every thread's counters summed, since the last reset.
  virtual stats::CounterSnapshot counters() = 0;
  // Every thread's latency histograms summed, since the last reset.
  virtual stats::LatencySnapshot latency() = 0;
  virtual std::string_view version() const = 0;
  // The settings the text protocol changes (`verbosity`, `cache_memlimit`,
  // `slabs automove`, `lru_crawler enable|disable`, `lru tune`), through the
  // server's one place for changes, so that every view of them agrees.
  // Without a server (tests, the fuzzer) they go to the store directly.
  virtual void set_verbosity(unsigned level) = 0;  // above 2 means 2
  // false: the store refused the limit, and nothing changed.
  virtual bool set_memory_limit(std::size_t bytes) = 0;
  virtual void set_automove(unsigned level) = 0;
  virtual void set_lru_crawler(bool on) = 0;
  virtual void set_lru_segments(unsigned hot_pct, unsigned warm_pct) = 0;
  // memcached's `shutdown [graceful]`, when -A enables it: the server
  // begins to stop.
  virtual bool shutdown_enabled() const { return false; }
  virtual void shutdown(bool /*graceful*/) {}
  // memcached's `refresh_certs`: re-reads the TLS certificate and key; ""
  // when done, else the reply line (the old certificate stays).
  virtual std::string refresh_certs() { return "Error TLS not enabled"; }
};

struct Context {
  store::Store& store;
  stats::ThreadCounters& counters;
  ServerControl* control = nullptr;        // may be null in tests
  stats::PrefixStats* prefixes = nullptr;  // `stats detail`; null: not offered
  // A multi-get stops adding values once this many reply bytes are queued
  // and answers After::more; where the next key starts in its key_list
  // waits here.
  std::size_t reply_limit = SIZE_MAX;
  std::size_t next_key = 0;
  // Time one request in this many of each kind (stats/latency.hpp).
  std::uint32_t latency_sample = 1;
  // -S, -Y, -B (auth.hpp); null: neither gate, the protocol by first byte.
  const Auth* auth = nullptr;
  // `watch` (watch.cpp): the log streams, the connection's descriptor as
  // the lines show it (cfd=), and how a watching connection is woken when
  // lines wait for it (from any thread). No logger: `watch` is refused;
  // no wake: the transport cannot watch.
  log::Logger* logger = nullptr;
  int fd = -1;
  std::function<void()> wake = {};
};

// Whether anyone watches stream s: one relaxed load.
inline bool watched(const Context& ctx, log::Stream s) {
  return ctx.logger != nullptr && ctx.logger->wants(s);
}

After execute(const protocol::Command& cmd, Context& ctx, Output& out);

// The kind a command's service time is counted under (inline: every
// request asks).
inline stats::LatencyOp latency_op(protocol::CommandType type) {
  using protocol::CommandType;
  using stats::LatencyOp;
  switch (type) {
    case CommandType::get:
    case CommandType::gets: return LatencyOp::get_;
    case CommandType::gat:
    case CommandType::gats: return LatencyOp::gat_;
    case CommandType::set:
    case CommandType::add:
    case CommandType::replace:
    case CommandType::append:
    case CommandType::prepend: return LatencyOp::set_;
    case CommandType::cas: return LatencyOp::cas_;
    case CommandType::del: return LatencyOp::delete_;
    case CommandType::incr:
    case CommandType::decr: return LatencyOp::incr_decr_;
    case CommandType::touch: return LatencyOp::touch_;
    case CommandType::meta_get: return LatencyOp::mg_;
    case CommandType::meta_set: return LatencyOp::ms_;
    case CommandType::meta_delete: return LatencyOp::md_;
    case CommandType::meta_arithmetic: return LatencyOp::ma_;
    default: return LatencyOp::other_;
  }
}

// A request picked for the hot keys: its keys, counted as read or written
// in the thread's tracker (hot_keys.cpp).
void sample_keys(const protocol::Command& cmd, Context& ctx);
// Every request: the thread's hot-key sampler picks one in kSampleEvery
// (a multi-get going on after the reply limit was sampled when it began).
inline void sample_hot_keys(const protocol::Command& cmd, Context& ctx) {
  if (ctx.counters.hot_keys.sample() && ctx.next_key == 0) sample_keys(cmd, ctx);
}

// A request's service time, from here to the end of the scope (its reply
// queued), into the thread's histogram of its kind, when the thread's
// recorder picks it (one in ctx.latency_sample of its kind). With
// sample_hot_keys(), what a request pays for the histograms and the hot
// keys (server_bench's BM_Probe measures it).
class RequestTimer {
 public:
  RequestTimer(const protocol::Command& cmd, Context& ctx)
      : ctx_(ctx),
        op_(latency_op(cmd.type)),
        weight_(ctx.counters.latency.pick(op_, ctx.latency_sample)),
        start_(weight_ != 0 ? stats::ticks_now() : 0) {}
  ~RequestTimer() {
    if (weight_ == 0) return;
    ctx_.counters.latency.record(op_, stats::ticks_to_ns(stats::ticks_now() - start_), weight_);
  }
  RequestTimer(const RequestTimer&) = delete;
  RequestTimer& operator=(const RequestTimer&) = delete;

 private:
  Context& ctx_;
  stats::LatencyOp op_;
  std::uint32_t weight_;
  std::uint64_t start_;
};

// The latency histograms of the whole server (of this thread without one),
// since the last `stats reset`.
stats::LatencySnapshot latency_of(Context& ctx);

// What one connection has established about its client: under -S or -Y it
// starts unauthenticated; a SASL exchange or the ASCII login sets it.
struct Session {
  bool authenticated = true;
  // Where its SASL exchange is, as memcached's Cyrus connection keeps it:
  // an AUTH with no PLAIN message waits for it in a STEP; one that
  // succeeded is done, and the next AUTH or STEP fails (then starts over).
  enum class Sasl : unsigned char { fresh, continuing, done } sasl = Sasl::fresh;
};

// The requests that authenticate (auth_commands.cpp): the binary SASL
// opcodes (answered "Unknown command" without -S) and the -Y login.
void run_sasl(const protocol::Command& cmd, Context& ctx, Session& session, Output& out);
void run_ascii_login(const protocol::Command& cmd, Context& ctx, Session& session, Output& out);
// Whether a binary request may run before the connection authenticated:
// only VERSION and the SASL opcodes may.
bool runs_unauthenticated(std::uint8_t opcode);

// A binary-protocol request (binary.cpp): its replies as memcached 1.6.18
// writes them, on the same items, rules and counters as text and meta.
After run_binary(const protocol::Command& cmd, Context& ctx, Session& session, Output& out);
// The reply of a binary storage request, whichever way it was stored.
void answer_binary_store(const protocol::Command& cmd, const Written& w, Context& ctx, Output& out);

// A connection's requests against the store (connection.hpp): execute()
// for text and meta, run_binary() for binary, and large set/add/replace/cas
// values received straight into their item (one copy, as memcached).
class StoreRunner final : public Runner {
 public:
  explicit StoreRunner(Context& ctx)
      : ctx_(ctx), session_{ctx.auth == nullptr || (!ctx.auth->sasl() && !ctx.auth->ascii())} {}
  After run(const protocol::Command& cmd, Output& out) override;
  void refuse(std::string_view error, Output& out) override;
  Value begin_value(const protocol::Command& cmd, Output& out) override;
  void finish_value(const protocol::Command& cmd, bool well_formed, Output& out) override;
  std::size_t reply_limit() const override { return ctx_.reply_limit; }
  Binding binding() const override {
    return ctx_.auth != nullptr ? ctx_.auth->binding() : Binding::auto_detect;
  }
  bool needs_login() const override {
    return !session_.authenticated && ctx_.auth != nullptr && ctx_.auth->ascii();
  }
  bool admit(const protocol::Command& cmd, Output& out) override;
  bool pull_log(Output& out) override;
  ~StoreRunner() override;
  StoreRunner(const StoreRunner&) = delete;
  StoreRunner& operator=(const StoreRunner&) = delete;

 private:
  Context& ctx_;
  Session session_;
  store::ItemRef pending_;                 // the item a value is being received into
  std::shared_ptr<log::Watcher> watcher_;  // after `watch`
};

// `watch [streams...]` (watch.cpp): as memcached answers it; After::watch
// once `watcher` watches.
After run_watch(const protocol::Command& cmd, Context& ctx, std::shared_ptr<log::Watcher>& watcher,
                Output& out);
// The fetchers and mutations lines of a lookup and of a storage command
// (call only when watched()).
void log_fetch(std::string_view key, store::LookupStatus status, unsigned cls, std::size_t size,
               Context& ctx);
// `before`: the item under the key before the write (peeked only when watched).
void log_store(const protocol::Command& cmd, const Written& w,
               const std::optional<store::ItemInfo>& before, Context& ctx);
// The same for a write whose mode, TTL and length are not the text
// command's (ms: from its flags).
void log_store_as(std::string_view key, StoreMode mode, std::int64_t exptime, std::size_t data_len,
                  const Written& w, const std::optional<store::ItemInfo>& before, Context& ctx);
// A delete (text, binary, md): memcached's lookup line, found or not.
void log_removal(std::string_view key, bool found, unsigned cls,
                 const std::optional<store::ItemInfo>& before, Context& ctx);
// incr/decr and ma: the lookup line, or, when N (or a binary initial value)
// created the item, memcached's two misses and an add.
void log_arithmetic(std::string_view key, const Counted& r,
                    const std::optional<store::ItemInfo>& before, Context& ctx);
// The item under key now, when fetchers are watched (the size a fetchers
// line shows); nothing otherwise.
std::optional<store::ItemInfo> peek_watched(std::string_view key, Context& ctx);
// `watch evictions` fed from the store.
class EvictionLog final : public store::EvictionObserver {
 public:
  explicit EvictionLog(log::Logger& logger) : logger_(logger) {}
  bool wanted() const override { return logger_.wants(log::kEvictions); }
  void evicted(const store::Item& it, store::RelTime now) override;

 private:
  log::Logger& logger_;
};

// The counters of a get, gat or touch lookup, text and binary alike.
void count_get(std::string_view key, const store::GetResult& r, bool touch, Context& ctx);
// The counters of a storage command, whichever way it was stored.
void count_store(const protocol::Command& cmd, store::StoreStatus s, std::uint8_t cls,
                 Context& ctx);
StoreMode mode_of(protocol::CommandType type);
// A set: when no item can be made, the old value goes too.
bool drops_on_failure(const protocol::Command& cmd);
// The meta flags a text or binary storage command has: its CAS.
protocol::MetaFlags store_flags(const protocol::Command& cmd);

// A one-line reply and its "\r\n", unless the command said noreply.
void reply_line(const protocol::Command& cmd, std::string_view line, Output& out);

// Writes an error line ("<text>\r\n").
void write_error(std::string_view text, Output& out);

// A get that found its item, in the item's class: get_hits and, as
// memcached's hits_to_hot|warm|cold, the LRU segment it was found in.
void count_class_hit(stats::ThreadCounters& c, unsigned cls, store::Segment seg);

// The `stats [args...]` reports (general, slabs, items, sizes, settings,
// conns), each stat emitted once into `sink`: the text protocol's `stats`
// and the admin port's JSON and /metrics alike (stats_views.cpp). False if
// args name no report, or a server one without ctx.control.
bool report(std::span<const std::string_view> args, Context& ctx, stats::Sink& sink);
// `stats ...` as the text protocol answers it, reports and the rest (reset,
// detail, sizes_enable|disable, cachedump).
void run_stats(const protocol::Command& cmd, Context& ctx, Output& out);

// The store's controls (maintenance_commands.cpp): `slabs`, `cache_memlimit`, `lru_crawler`,
// `lru`, and the `stats cachedump` listing.
void run_maintenance(const protocol::Command& cmd, Context& ctx, Output& out);
void stats_cachedump(std::span<const std::string_view> args, Context& ctx, Output& out);
// mg ms md ma me (meta.cpp).
void run_meta(const protocol::Command& cmd, Context& ctx, Output& out);

}  // namespace memcoro::exec
