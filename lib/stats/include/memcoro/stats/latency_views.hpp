#pragma once
// The latency histograms as operators read them: `stats latency` (and its
// JSON at /stats/latency) and Prometheus histograms for /metrics.
#include <string>

#include "memcoro/stats/latency.hpp"
#include "memcoro/stats/sink.hpp"

namespace memcoro::stats {

// Per command kind, in MEMCORO_LATENCY_OPS order: <op>_count, then the mean
// and the 50th, 90th, 99th and 99.9th percentiles in microseconds
// (<op>_mean_us, <op>_p50_us, <op>_p90_us, <op>_p99_us, <op>_p999_us).
void latency_report(const LatencySnapshot& s, Sink& sink);

// memcoro_command_duration_seconds{command=...}: a Prometheus histogram per
// command kind, buckets at the powers of two of nanoseconds from 2^10
// (1.024 us) to 2^30 (1.07 s), appended to `o`.
void append_latency_histograms(std::string& o, const LatencySnapshot& s);

}  // namespace memcoro::stats
