// The meta client's hot paths: serialize a small get, parse a small value.
// Reports ns/op (Google Benchmark) and allocations/op (a counting operator
// new in this binary).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "counting_new.hpp"
#include "memcoro/client/meta.hpp"

using memcoro::bench::allocations;

using namespace memcoro::client;

namespace {

void report_allocations(benchmark::State& state, std::uint64_t before) {
  state.counters["allocs/op"] = benchmark::Counter(static_cast<double>(allocations.load() - before),
                                                   benchmark::Counter::kAvgIterations);
}

void BM_SerializeSmallGet(benchmark::State& state) {
  std::string out;
  out.reserve(256);
  const std::uint64_t before = allocations.load();
  for (auto _ : state) {
    out.clear();
    write_request(Request::get("user:12345").return_value().return_flags().return_cas(), out);
    benchmark::DoNotOptimize(out.data());
  }
  report_allocations(state, before);
}
BENCHMARK(BM_SerializeSmallGet);

void BM_SerializeSmallSet(benchmark::State& state) {
  std::string out;
  out.reserve(256);
  const std::string value(32, 'v');
  const std::uint64_t before = allocations.load();
  for (auto _ : state) {
    out.clear();
    write_request(Request::set("user:12345", value).ttl(300).client_flags(7), out);
    benchmark::DoNotOptimize(out.data());
  }
  report_allocations(state, before);
}
BENCHMARK(BM_SerializeSmallSet);

void BM_ParseSmallValue(benchmark::State& state) {
  const std::string in = "VA 32 f7 c1234567 t300\r\n" + std::string(32, 'v') + "\r\n";
  Response r;
  r.value.reserve(64);
  r.line.reserve(64);
  const std::uint64_t before = allocations.load();
  for (auto _ : state) {
    ReadResult rr = read_response(in, r);
    benchmark::DoNotOptimize(rr.consumed);
    benchmark::DoNotOptimize(r.cas());
  }
  report_allocations(state, before);
}
BENCHMARK(BM_ParseSmallValue);

void BM_ParseMiss(benchmark::State& state) {
  const std::string in = "EN\r\n";
  Response r;
  const std::uint64_t before = allocations.load();
  for (auto _ : state) {
    ReadResult rr = read_response(in, r);
    benchmark::DoNotOptimize(rr.consumed);
  }
  report_allocations(state, before);
}
BENCHMARK(BM_ParseMiss);

}  // namespace

BENCHMARK_MAIN();
