// Which kind a command's service time counts under, and the server's sum
// of the per-thread histograms.
#include "memcoro/exec/execute.hpp"

namespace memcoro::exec {

using protocol::CommandType;
using stats::LatencyOp;

LatencyOp latency_op(CommandType type) {
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

stats::LatencySnapshot latency_of(Context& ctx) {
  if (ctx.control != nullptr) return ctx.control->latency();
  return ctx.counters.latency.snapshot();
}

}  // namespace memcoro::exec
