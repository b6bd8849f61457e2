// Server hot paths without sockets: parse a get / a set line, execute get
// and set against the store single-threaded and from 2 threads, a get
// through a connection's runner, what the latency histograms and the hot
// keys add to a request, and a sampled key into the hot keys' summary.
// ns/op (Google Benchmark) and allocations/op (a counting operator new).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "counting_new.hpp"
#include "memcoro/exec/changes.hpp"
#include "memcoro/exec/execute.hpp"
#include "memcoro/protocol/text_parser.hpp"
#include "memcoro/stats/hot_keys.hpp"

using memcoro::bench::allocations;

using namespace memcoro;

namespace {

void allocs(benchmark::State& state, std::uint64_t before) {
  state.counters["allocs/op"] = benchmark::Counter(static_cast<double>(allocations.load() - before),
                                                   benchmark::Counter::kAvgIterations);
}

void BM_ParseGet(benchmark::State& state) {
  protocol::Command cmd;
  const std::string in = "get memtier-12345\r\n";
  protocol::parse_text(in, cmd);  // warm the key vector
  const std::uint64_t before = allocations.load();
  for (auto _ : state) benchmark::DoNotOptimize(protocol::parse_text(in, cmd).consumed);
  allocs(state, before);
}
BENCHMARK(BM_ParseGet);

void BM_ParseSet(benchmark::State& state) {
  protocol::Command cmd;
  const std::string in = "set memtier-12345 0 0 32\r\n" + std::string(32, 'v') + "\r\n";
  const std::uint64_t before = allocations.load();
  for (auto _ : state) benchmark::DoNotOptimize(protocol::parse_text(in, cmd).consumed);
  allocs(state, before);
}
BENCHMARK(BM_ParseSet);

struct World {
  store::SystemClock clock;
  store::Store store{store::StoreConfig{}, clock};
  World() {
    for (int i = 0; i < 100000; ++i) {
      exec::write_value(store, exec::StoreMode::set, "memtier-" + std::to_string(i), 0, 0,
                        std::string(32, 'v'), {}, true);
    }
  }
};
World& world() {
  static World w;
  return w;
}

// 4096 requests over memtier-style keys of the 100,000 stored: each one is
// `before` + key + `after`, built before timing, so that a loop over them
// allocates nothing itself. `thread` shifts the keys.
std::vector<std::string> request_lines(std::string_view before, std::string_view after,
                                       int thread) {
  std::vector<std::string> lines;
  for (int k = 0; k < 4096; ++k) {
    lines.push_back(std::string(before) + "memtier-" +
                    std::to_string((k * 7919 + thread) % 100000) + std::string(after));
  }
  return lines;
}

// Parses and executes request_lines(), round robin. With `latency_sample`
// > 0, through a connection's StoreRunner (the request timed one in that
// many, and sampled for the hot keys) rather than execute() alone.
void execute_requests(benchmark::State& state, std::string_view before, std::string_view after,
                      std::uint32_t latency_sample = 0) {
  World& w = world();
  stats::ThreadCounters counters;
  exec::Context ctx{w.store, counters, nullptr};
  ctx.latency_sample = std::max<std::uint32_t>(latency_sample, 1);
  exec::StoreRunner runner(ctx);
  protocol::Command cmd;
  exec::Output out;
  const std::vector<std::string> lines = request_lines(before, after, state.thread_index());
  std::size_t i = 0;
  const std::uint64_t allocations_before = allocations.load();
  for (auto _ : state) {
    protocol::parse_text(lines[i++ % lines.size()], cmd);
    if (latency_sample != 0) {
      runner.run(cmd, out);
    } else {
      exec::execute(cmd, ctx, out);
    }
    out.clear();
  }
  if (state.thread_index() == 0) allocs(state, allocations_before);
}

void BM_ExecuteGet(benchmark::State& state) {
  execute_requests(state, "get ", "\r\n");
}
BENCHMARK(BM_ExecuteGet)->Threads(1)->Threads(2)->UseRealTime();

void BM_ExecuteSet(benchmark::State& state) {
  execute_requests(state, "set ", " 0 0 32\r\n" + std::string(32, 'v') + "\r\n");
}
BENCHMARK(BM_ExecuteSet)->Threads(1)->Threads(2)->UseRealTime();

// The same gets through StoreRunner::run, as a connection runs them: what
// the latency timing (one in Arg, as --latency-sample) and the hot-key
// sampling add to BM_ExecuteGet.
void BM_RunGet(benchmark::State& state) {
  execute_requests(state, "get ", "\r\n", static_cast<std::uint32_t>(state.range(0)));
}
BENCHMARK(BM_RunGet)->Arg(1)->Arg(16);

// What StoreRunner::run adds to every request for the latency histograms
// (timed one in Arg) and the hot keys, alone: a get of one key, over keys
// drawn from 100,000 (a sampled key is nearly always new to the summary).
void BM_Probe(benchmark::State& state) {
  World& w = world();
  stats::ThreadCounters counters;
  exec::Context ctx{w.store, counters, nullptr};
  ctx.latency_sample = static_cast<std::uint32_t>(state.range(0));
  const std::vector<std::string> lines = request_lines("get ", "\r\n", 0);
  std::vector<protocol::Command> cmds(lines.size());
  for (std::size_t k = 0; k < lines.size(); ++k) protocol::parse_text(lines[k], cmds[k]);
  std::size_t i = 0;
  for (auto _ : state) {
    const protocol::Command& cmd = cmds[i++ % cmds.size()];
    const exec::RequestTimer timer(cmd, ctx);
    exec::sample_hot_keys(cmd, ctx);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Probe)->Arg(1)->Arg(16);

// One sampled key into the hot keys' summary (a full one): every key new,
// as under even traffic over many keys (each replaces the least counted),
// or one in two a hot key that is found.
void BM_HotKeysRecord(benchmark::State& state) {
  stats::HotKeyTracker t;
  std::vector<std::string> keys;
  for (int k = 0; k < 100000; ++k) {
    keys.push_back(state.range(0) != 0 && k % 2 == 0 ? "hot-" + std::to_string(k % 64)
                                                     : "memtier-" + std::to_string(k));
  }
  std::size_t i = 0;
  const std::uint64_t allocations_before = allocations.load();
  for (auto _ : state) t.record(stats::KeyUse::read, keys[i++ % keys.size()], 1);
  allocs(state, allocations_before);
}
BENCHMARK(BM_HotKeysRecord)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
