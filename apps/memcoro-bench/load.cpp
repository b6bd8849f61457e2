// memcoro-bench's workload: each connection sends batches of requests
// (text, meta or binary; pipelined or not; paced with --rate) and reads and
// counts the replies, over plain TCP or, with --tls, a TLS stream.
#include <algorithm>
#include <boost/asio.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "binary_requests.hpp"
#include "connect.hpp"
#include "memcoro/client/meta.hpp"
#include "memcoro/client/reply_scanner.hpp"
#include "session.hpp"
#include "workload.hpp"

namespace memcoro::bench {

using asio::awaitable;
using Clock = std::chrono::steady_clock;

namespace {

// One connection's workload, over a plain socket or a TLS stream.
template <class Stream>
awaitable<void> run_workload(Stream& sock, Shared& sh, Totals& totals, unsigned id) {
  const Options& o = sh.opt;
  Keys keys(o, 0x9e3779b97f4a7c15ull * (id + 1));
  std::uniform_int_distribution<std::size_t> size_dist(o.size_min, o.size_max);
  std::uniform_int_distribution<unsigned> ratio(1, o.set_ratio + o.get_ratio);
  std::uniform_int_distribution<unsigned> expiry(o.expiry_min,
                                                 std::max(o.expiry_min, o.expiry_max));
  const bool meta = o.protocol == "meta";
  const bool binary = o.protocol == "binary";
  // Batches in which only hits and failures answer, closed by a no-op:
  // --meta-quiet, and binary pipelines (GETKQ/SETQ ... NOOP).
  const bool quiet = o.meta_quiet || (binary && o.pipeline > 1);
  std::string out;
  // Replies are read straight into `in`; in[at, end) is not parsed yet.
  std::vector<char> in(256 * 1024);
  std::size_t at = 0, end = 0;
  // Keys are the prefix and a number, written in place (no allocation).
  std::string key_buf = o.key_prefix;
  key_buf.resize(o.key_prefix.size() + 20);
  auto next_key = [&] {
    char* digits = key_buf.data() + o.key_prefix.size();
    const char* last = std::to_chars(digits, key_buf.data() + key_buf.size(), keys.next()).ptr;
    return std::string_view(key_buf.data(), static_cast<std::size_t>(last - key_buf.data()));
  };
  auto append_number = [&](std::uint64_t v) {
    char digits[20];
    out.append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
  };
  // --rate: this connection's share of the schedule, one batch per interval,
  // starting at a random phase so that the connections do not send together.
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
      o.rate > 0 ? o.pipeline * double(o.threads) * o.connections / o.rate : 0.0));
  auto due = Clock::now() + interval * static_cast<long>(keys.rng()() % 1024) / 1024;
  asio::steady_timer pacer(sock.get_executor());
  for (;;) {
    if (sh.stop.load(std::memory_order_relaxed)) break;
    if (o.rate > 0) {
      if (Clock::now() < due) {
        pacer.expires_at(due);
        co_await pacer.async_wait(use_nothrow);
        if (sh.stop.load(std::memory_order_relaxed)) break;
      }
    }
    if (o.requests != 0 && sh.issued.fetch_add(o.pipeline) >= o.requests) break;
    out.clear();
    unsigned expected = 0;
    unsigned gets_in_batch = 0;
    for (unsigned p = 0; p < o.pipeline; ++p) {
      const bool is_set = ratio(keys.rng()) <= o.set_ratio;
      if (is_set) {
        const std::string_view key = next_key();
        const std::size_t size = size_dist(keys.rng());
        const unsigned ttl = o.expiry_max ? expiry(keys.rng()) : 0;
        if (binary) {
          binary::write_set(out, key, std::string_view(sh.value).substr(0, size), ttl, quiet);
        } else if (meta) {
          memcoro::client::Request r =
              memcoro::client::Request::set(key, std::string_view(sh.value).substr(0, size));
          if (ttl) r.ttl(ttl);
          if (o.meta_quiet) r.quiet();
          memcoro::client::write_request(r, out);
        } else {
          out += "set ";
          out += key;
          out += " 0 ";
          append_number(ttl);
          out += ' ';
          append_number(size);
          out += "\r\n";
          out.append(sh.value.data(), size);
          out += "\r\n";
        }
        ++totals.sets;
      } else {
        ++gets_in_batch;
        if (binary) {
          for (unsigned g = 0; g < o.multi_get; ++g) binary::write_get(out, next_key(), quiet);
          expected += o.multi_get - 1;  // one reply per key
        } else if (meta) {
          for (unsigned g = 0; g < o.multi_get; ++g) {
            memcoro::client::Request r =
                memcoro::client::Request::get(next_key()).return_value().return_flags();
            if (o.meta_quiet) r.quiet();
            memcoro::client::write_request(r, out);
          }
          expected += o.multi_get - 1;  // one reply per key
        } else {
          out += "get";
          for (unsigned g = 0; g < o.multi_get; ++g) {
            out += ' ';
            out += next_key();
          }
          out += "\r\n";
        }
        totals.gets += o.multi_get;
      }
      ++expected;
    }
    const std::uint64_t batch_gets = static_cast<std::uint64_t>(gets_in_batch) * o.multi_get;
    if (quiet) {
      // Only hits and failures answer; the MN (NOOP) closes the batch.
      if (binary)
        binary::write_noop(out);
      else
        memcoro::client::write_request(memcoro::client::Request::noop(), out);
      totals.ops += expected;
      expected = 1;
    }
    const auto start = o.rate > 0 ? due : Clock::now();
    due += interval;
    auto [wec, wn] = co_await asio::async_write(sock, asio::buffer(out), use_nothrow);
    if (wec) {
      ++totals.errors;
      break;
    }
    totals.bytes_sent += wn;
    unsigned got = 0;
    at = end = 0;  // the previous batch's replies were all consumed
    std::uint64_t batch_hits = 0;
    std::uint64_t latency = 0;  // when the bytes being parsed arrived
    while (got < expected) {
      memcoro::client::ReplyCount count;
      const std::string_view pending(in.data() + at, end - at);
      bool batch_end = false;
      const std::size_t used = binary
                                   ? binary::scan_reply(pending, count, batch_end)
                                   : memcoro::client::scan_reply(pending, meta, o.multi_get, count);
      if (used == 0) {
        if (at > 0) {
          std::memmove(in.data(), in.data() + at, end - at);
          end -= at;
          at = 0;
        }
        if (end == in.size()) in.resize(in.size() * 2);
        auto [rec, rn] = co_await sock.async_read_some(
            asio::buffer(in.data() + end, in.size() - end), use_nothrow);
        if (rec) {
          ++totals.errors;
          co_return;
        }
        totals.bytes_received += rn;
        end += rn;
        // One clock read per arrival: every reply these bytes complete
        // arrived now.
        latency = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
        continue;
      }
      at += used;
      if (quiet) {
        if (binary ? batch_end : pending.starts_with("MN\r\n")) {
          ++got;
          totals.hits += batch_hits;
          totals.misses += batch_gets - std::min(batch_gets, batch_hits);
          for (unsigned p = 0; p < o.pipeline; ++p) totals.latency.add(latency);
        } else {
          batch_hits += count.hits;
          totals.errors += count.error;
        }
        continue;
      }
      ++got;
      totals.hits += count.hits;
      totals.misses += count.misses;
      totals.errors += count.error;
      totals.latency.add(latency);
    }
    if (!quiet) totals.ops += expected;
    sh.done.fetch_add(quiet ? o.pipeline : expected, std::memory_order_relaxed);
  }
}

}  // namespace

// Counts this connection as ready and waits for every other one.
awaitable<void> start_together(Shared& sh) {
  sh.ready.fetch_add(1);
  asio::steady_timer tick(co_await asio::this_coro::executor);
  while (!sh.go.load()) {
    tick.expires_after(std::chrono::microseconds(200));
    co_await tick.async_wait(use_nothrow);
  }
}

awaitable<void> load_connection(Shared& sh, Totals& totals, unsigned id) {
  tcp::socket sock(co_await asio::this_coro::executor);
  if (const auto ec = co_await connect(sock, sh.opt)) {
    std::fprintf(stderr, "connect: %s\n", ec.message().c_str());
    ++totals.errors;
    sh.ready.fetch_add(1);
    co_return;
  }
  if (sh.tls == nullptr) {
    co_await start_together(sh);
    co_await run_workload(sock, sh, totals, id);
    co_return;
  }
  TlsStream stream(std::move(sock), *sh.tls);
  if (const auto ec = co_await handshake(stream)) {
    std::fprintf(stderr, "TLS handshake: %s\n", ec.message().c_str());
    ++totals.errors;
    sh.ready.fetch_add(1);
    co_return;
  }
  co_await start_together(sh);
  co_await run_workload(stream, sh, totals, id);
}

}  // namespace memcoro::bench
