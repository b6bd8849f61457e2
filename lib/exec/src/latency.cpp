// The server's sum of the per-thread latency histograms.
#include "memcoro/exec/execute.hpp"

namespace memcoro::exec {

stats::LatencySnapshot latency_of(Context& ctx) {
  if (ctx.control != nullptr) return ctx.control->latency();
  return ctx.counters.latency.snapshot();
}

}  // namespace memcoro::exec
