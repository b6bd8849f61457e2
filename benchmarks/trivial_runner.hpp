// The answers of benchmarks' do-nothing servers (trivial_server, uring_floor): every get gets END,
// every set STORED (mg EN and ms HD, silent under q), nothing is stored, one write per batch.
#pragma once

#include <cstdint>
#include <string_view>

#include "memcoro/exec/connection.hpp"

namespace memcoro::bench {

using memcoro::exec::After;
using memcoro::exec::Output;
using memcoro::protocol::Command;
using memcoro::protocol::CommandType;

// The answers, without a store.
class TrivialRunner final : public memcoro::exec::Runner {
 public:
  After run(const Command& cmd, Output& out) override {
    if (memcoro::protocol::is_storage(cmd.type)) {
      if (!cmd.noreply) out.append("STORED\r\n");
    } else if (cmd.type == CommandType::meta_noop) {
      out.append("MN\r\n");
    } else if (cmd.type == CommandType::meta_set) {
      if (!cmd.meta.quiet) out.append("HD\r\n");  // quiet: success is silent
    } else if (cmd.type == CommandType::meta_get) {
      if (!cmd.meta.quiet) out.append("EN\r\n");  // quiet: a miss is silent
    } else {
      out.append("END\r\n");
    }
    return After::keep_open;
  }
  void refuse(std::string_view, Output& out) override { out.append("ERROR\r\n"); }
  Value begin_value(const Command&, Output&) override { return {}; }  // through the buffer
  void finish_value(const Command&, bool, Output&) override {}
  std::size_t reply_limit() const override { return SIZE_MAX; }  // one write per batch
};

}  // namespace memcoro::bench
