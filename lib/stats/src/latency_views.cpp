#include "memcoro/stats/latency_views.hpp"

#include <charconv>
#include <cmath>

namespace memcoro::stats {
namespace {

std::uint64_t total(const LatencyHistogram& h) {
  std::uint64_t n = 0;
  for (std::uint64_t b : h.buckets) n += b;
  return n;
}

double micros(double ns) {
  return std::round(ns) / 1000.0;  // (nanosecond resolution)
}

void append_double(std::string& o, double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  o.append(buf, r.ptr);
}

}  // namespace

void latency_report(const LatencySnapshot& s, Sink& sink) {
  static constexpr std::pair<std::string_view, double> kQuantiles[] = {
      {"_p50_us", 0.5}, {"_p90_us", 0.9}, {"_p99_us", 0.99}, {"_p999_us", 0.999}};
  std::string name;
  for (unsigned op = 0; op < kLatencyOps; ++op) {
    const LatencyHistogram& h = s.ops[op];
    const std::string_view base = latency_op_name(static_cast<LatencyOp>(op));
    const std::uint64_t n = total(h);
    name.assign(base).append("_count");
    sink.add(name, n);
    name.assign(base).append("_mean_us");
    sink.add(name, n == 0 ? 0.0 : micros(static_cast<double>(h.sum_ns) / static_cast<double>(n)));
    for (const auto& [suffix, q] : kQuantiles) {
      name.assign(base).append(suffix);
      sink.add(name, micros(h.quantile(q)));
    }
  }
}

void append_latency_histograms(std::string& o, const LatencySnapshot& s) {
  constexpr std::string_view kName = "memcoro_command_duration_seconds";
  o += "# HELP memcoro_command_duration_seconds Time from a parsed request to its reply queued, "
       "by command.\n# TYPE memcoro_command_duration_seconds histogram\n";
  for (unsigned op = 0; op < kLatencyOps; ++op) {
    const LatencyHistogram& h = s.ops[op];
    std::string label = "command=\"";
    label += latency_op_name(static_cast<LatencyOp>(op));
    label += '"';
    for (unsigned k = 10; k <= 30; ++k) {
      o.append(kName).append("_bucket{").append(label).append(",le=\"");
      append_double(o, std::ldexp(1e-9, static_cast<int>(k)));
      o.append("\"} ").append(std::to_string(h.count_below(std::uint64_t{1} << k))).append("\n");
    }
    // The count is the buckets' sum, so that +Inf and _count agree even
    // when a worker was between its bucket and its count.
    const std::string n = std::to_string(total(h));
    o.append(kName)
        .append("_bucket{")
        .append(label)
        .append(",le=\"+Inf\"} ")
        .append(n)
        .append("\n");
    o.append(kName).append("_sum{").append(label).append("} ");
    append_double(o, static_cast<double>(h.sum_ns) / 1e9);
    o.append("\n").append(kName).append("_count{").append(label).append("} ").append(n).append(
        "\n");
  }
}

}  // namespace memcoro::stats
