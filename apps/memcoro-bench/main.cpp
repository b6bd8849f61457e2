// memcoro-bench: a load generator for memcached-protocol servers, in the
// spirit of memtier_benchmark, on Asio coroutines and lib/client.
//
//   memcoro-bench --server 127.0.0.1:11211 --threads 4 --connections 10
//       --ratio 1:10 --pipeline 1 --data-size 32 --test-time 10
//
// Reports ops/s, hits, misses, bytes and latency percentiles (from a
// log-bucket histogram) as a table, and as JSON with --json FILE.
//
// By default every connection sends its next batch as soon as the last one
// is answered (a closed loop: latency at saturation). With --rate R the
// connections send R requests a second between them on a fixed schedule (an
// open loop, as wrk2 does), and a request's latency runs from the moment the
// schedule meant to send it, so a server that falls behind is charged for
// the requests that waited (no coordinated omission).
#include <atomic>
#include <boost/asio.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "binary_requests.hpp"
#include "memcoro/client/meta.hpp"
#include "memcoro/client/reply_scanner.hpp"
#include "options.hpp"
#include "results.hpp"
#include "workload.hpp"

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
using namespace memcoro::bench;

namespace {

struct Shared {
  Options opt;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> issued{0};  // for --requests
  std::atomic<std::uint64_t> done{0};    // progress
  std::string value;                     // size_max bytes of payload
};

awaitable<void> connection(Shared& sh, Totals& totals, unsigned id) {
  const Options& o = sh.opt;
  tcp::socket sock(co_await asio::this_coro::executor);
  auto [cec] = co_await sock.async_connect(tcp::endpoint(asio::ip::make_address(o.host), o.port),
                                           use_nothrow);
  if (cec) {
    std::fprintf(stderr, "connect: %s\n", cec.message().c_str());
    ++totals.errors;
    co_return;
  }
  sock.set_option(tcp::no_delay(true));
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

void prefill(const Options& o) {
  asio::io_context ctx;
  tcp::socket sock(ctx);
  sock.connect(tcp::endpoint(asio::ip::make_address(o.host), o.port));
  const std::string value(o.size_max, 'p');
  std::string out;
  for (std::uint64_t k = 1; k <= o.key_max; ++k) {
    out += "set " + o.key_prefix + std::to_string(k) + " 0 0 " + std::to_string(o.size_min) +
           " noreply\r\n";
    out.append(value.data(), o.size_min);
    out += "\r\n";
    if (out.size() > (1 << 20) || k == o.key_max) {
      asio::write(sock, asio::buffer(out));
      out.clear();
    }
  }
  asio::write(sock, asio::buffer(std::string("mn\r\n")));
  std::string in;
  char buf[4096];
  while (in.find("MN\r\n") == std::string::npos) {
    std::size_t n = sock.read_some(asio::buffer(buf));
    in.append(buf, n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const int status = parse_options(argc, argv, o); status >= 0) return status;
  try {
    if (o.prefill) prefill(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memcoro-bench: prefill: %s\n", e.what());
    return 69;
  }

  Shared sh;
  sh.opt = o;
  sh.value.assign(std::max<std::size_t>(o.size_max, 1), 'x');
  std::vector<std::unique_ptr<asio::io_context>> ctxs;
  std::vector<std::vector<Totals>> totals(o.threads, std::vector<Totals>(o.connections));
  std::vector<std::thread> threads;
  const auto started = Clock::now();
  for (unsigned t = 0; t < o.threads; ++t) {
    ctxs.push_back(std::make_unique<asio::io_context>(1));
    for (unsigned k = 0; k < o.connections; ++k) {
      asio::co_spawn(*ctxs.back(), connection(sh, totals[t][k], t * o.connections + k),
                     asio::detached);
    }
    threads.emplace_back([ctx = ctxs.back().get()] { ctx->run(); });
  }
  std::uint64_t last = 0;
  auto last_t = started;
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    if (o.requests == 0 && elapsed >= o.test_time) sh.stop = true;
    bool all_done = true;
    for (auto& ctx : ctxs) all_done = all_done && ctx->stopped();
    if (all_done) break;
    if (!o.quiet && Clock::now() - last_t >= std::chrono::seconds(1)) {
      const std::uint64_t now_done = sh.done.load();
      const double dt = std::chrono::duration<double>(Clock::now() - last_t).count();
      std::fprintf(stderr, "[%5.1fs] %10.0f ops/s, %llu requests\n", elapsed,
                   static_cast<double>(now_done - last) / dt,
                   static_cast<unsigned long long>(now_done));
      last = now_done;
      last_t = Clock::now();
    }
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  Totals all;
  for (auto& per_thread : totals) {
    for (auto& t : per_thread) all.merge(t);
  }
  const double ops_s = static_cast<double>(all.ops) / elapsed;
  nlohmann::ordered_json j = {
      {"server", o.host + ":" + std::to_string(o.port)},
      {"protocol", o.protocol},
      {"threads", o.threads},
      {"connections", o.connections},
      {"pipeline", o.pipeline},
      {"rate", o.rate},
      {"seconds", elapsed},
      {"ops", all.ops},
      {"ops_per_sec", ops_s},
      {"gets", all.gets},
      {"sets", all.sets},
      {"hits", all.hits},
      {"misses", all.misses},
      {"errors", all.errors},
      {"bytes_sent", all.bytes_sent},
      {"bytes_received", all.bytes_received},
      {"latency_us",
       {{"p50", all.latency.percentile_us(50)},
        {"p90", all.latency.percentile_us(90)},
        {"p99", all.latency.percentile_us(99)},
        {"p99.9", all.latency.percentile_us(99.9)},
        {"max", all.latency.max_us()}}},
  };
  std::printf("%-10s %12s %10s %10s %10s %9s %9s %9s %9s %9s\n", "protocol", "ops/s", "hits",
              "misses", "errors", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us");
  std::printf("%-10s %12.0f %10llu %10llu %10llu %9.1f %9.1f %9.1f %9.1f %9.1f\n",
              o.protocol.c_str(), ops_s, static_cast<unsigned long long>(all.hits),
              static_cast<unsigned long long>(all.misses),
              static_cast<unsigned long long>(all.errors), all.latency.percentile_us(50),
              all.latency.percentile_us(90), all.latency.percentile_us(99),
              all.latency.percentile_us(99.9), all.latency.max_us());
  if (!o.json_file.empty()) {
    std::ofstream f(o.json_file);
    f << j.dump(2) << "\n";
  }
  return all.errors == 0 ? 0 : 1;
}
