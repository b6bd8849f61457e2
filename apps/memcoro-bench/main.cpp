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
//
// Every connection connects (under --tls: shakes hands) before any sends:
// the workload and its clock start together once all are up.
//
// --tls runs every connection over TLS (a handshake, then the same
// workload). --handshakes measures connections per second instead: each
// connection connects, shakes hands (under --tls), makes one `version` round
// trip and closes, over and over; an op is one such cycle.
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connect.hpp"
#include "options.hpp"
#include "prefill.hpp"
#include "results.hpp"
#include "session.hpp"

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace memcoro::bench;

int main(int argc, char** argv) {
  Options o;
  if (const int status = parse_options(argc, argv, o); status >= 0) return status;
  std::optional<asio::ssl::context> tls;
  try {
    if (o.tls) tls.emplace(make_tls_context(o));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memcoro-bench: --tls-ca %s: %s\n", o.tls_ca.c_str(), e.what());
    return 66;
  }
  try {
    if (o.prefill) prefill(o, tls ? &*tls : nullptr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memcoro-bench: prefill: %s\n", e.what());
    return 69;
  }

  Shared sh;
  sh.opt = o;
  sh.tls = tls ? &*tls : nullptr;
  sh.value.assign(std::max<std::size_t>(o.size_max, 1), 'x');
  std::vector<std::unique_ptr<asio::io_context>> ctxs;
  std::vector<std::vector<Totals>> totals(o.threads, std::vector<Totals>(o.connections));
  std::vector<std::thread> threads;
  auto started = Clock::now();
  for (unsigned t = 0; t < o.threads; ++t) {
    ctxs.push_back(std::make_unique<asio::io_context>(1));
    for (unsigned k = 0; k < o.connections; ++k) {
      auto& slot = totals[t][k];
      if (o.handshakes)
        asio::co_spawn(*ctxs.back(), handshake_connection(sh, slot), asio::detached);
      else
        asio::co_spawn(*ctxs.back(), load_connection(sh, slot, t * o.connections + k),
                       asio::detached);
    }
    threads.emplace_back([ctx = ctxs.back().get()] { ctx->run(); });
  }
  if (!o.handshakes) {
    // The workload's clock starts once every connection is up (Shared::go).
    while (sh.ready.load() < o.threads * o.connections) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    started = Clock::now();
    sh.go = true;
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
      {"mode", o.handshakes ? "handshakes" : "workload"},
      {"tls", o.tls},
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
  const std::string label = o.handshakes ? (o.tls ? "tls-hs" : "connect") : o.protocol;
  std::printf("%-10s %12s %10s %10s %10s %9s %9s %9s %9s %9s\n", "protocol", "ops/s", "hits",
              "misses", "errors", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us");
  std::printf("%-10s %12.0f %10llu %10llu %10llu %9.1f %9.1f %9.1f %9.1f %9.1f\n", label.c_str(),
              ops_s, static_cast<unsigned long long>(all.hits),
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
