// The binary protocol's STAT: the same reports as the text `stats`, one
// response packet per stat (key = name, value = text value), ended by an
// empty packet; groups chosen as memcached 1.6.18's process_bin_stat does.
#include <string>

#include "binary_reply.hpp"
#include "memcoro/exec/execute.hpp"

namespace memcoro::exec {
namespace {

using protocol::Command;
namespace bin = protocol::binary;

class BinarySink final : public stats::Sink {
 public:
  BinarySink(const Command& cmd, Output& out) : cmd_(cmd), out_(out) {}
  void add(std::string_view name, const stats::Value& value, stats::Label label = {}) override {
    name_.clear();
    value_.clear();
    stats::append_name(name_, name, label);
    stats::append_value(value_, value);
    binary::write_packet(cmd_, bin::ok, name_, value_, out_);
  }

 private:
  const Command& cmd_;
  Output& out_;
  std::string name_;
  std::string value_;
};

void end_stats(const Command& cmd, Output& out) {
  binary::write_packet(cmd, bin::ok, {}, {}, out);
}

}  // namespace

void run_binary_stats(const Command& cmd, Context& ctx, Output& out) {
  // memcached compares the group by prefix (strncmp) for reset, settings
  // and detail, and whole for the store's groups.
  const std::string_view group = cmd.key;
  BinarySink sink(cmd, out);
  if (group.empty() || group.starts_with("settings")) {
    const std::string_view args[] = {"settings"};
    if (!report(std::span(args, group.empty() ? 0 : 1), ctx, sink)) {
      binary::write_error(cmd, bin::not_found, out);
      return;
    }
  } else if (group.starts_with("reset")) {
    if (ctx.control != nullptr) ctx.control->reset_stats();
    if (ctx.prefixes != nullptr) ctx.prefixes->clear();
  } else if (group.starts_with("detail")) {
    const std::string_view sub = group.substr(6);
    if (ctx.prefixes == nullptr) {
      binary::write_error(cmd, bin::not_found, out);
      return;
    }
    if (sub.starts_with(" dump")) {
      std::string dump;
      ctx.prefixes->dump(dump);
      binary::write_packet(cmd, bin::ok, "detailed", dump, out);
    } else if (sub.starts_with(" on") || sub.starts_with(" off")) {
      ctx.prefixes->set_enabled(sub.starts_with(" on"));
    } else {
      binary::write_error(cmd, bin::not_found, out);
      return;
    }
  } else if (group == "sizes_enable" || group == "sizes_disable") {
    const bool on = group == "sizes_enable";
    ctx.store.show_sizes(on);
    sink.add("sizes_status", on ? "enabled" : "disabled");
    return;  // memcached ends these without the empty packet
  } else if (group == "items" || group == "slabs" || group == "sizes") {
    const std::string_view args[] = {group};
    report(args, ctx, sink);
  } else {
    // conns, cachedump, extstore and the rest: the text protocol's only.
    binary::write_error(cmd, bin::not_found, out);
    return;
  }
  end_stats(cmd, out);
}

}  // namespace memcoro::exec
