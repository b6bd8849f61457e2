// Which keys a sampled request reads or writes, for the hot keys
// (stats/hot_keys.hpp).
#include "memcoro/exec/execute.hpp"
#include "memcoro/stats/ticks.hpp"

namespace memcoro::exec {

using protocol::CommandType;
using stats::KeyUse;

void sample_keys(const protocol::Command& cmd, Context& ctx) {
  const std::uint64_t now = stats::seconds_now();
  stats::HotKeyTracker& t = ctx.counters.hot_keys;
  switch (cmd.type) {
    case CommandType::get:
    case CommandType::gets:
    case CommandType::gat:
    case CommandType::gats:
      if (cmd.binary) {
        t.record(KeyUse::read, cmd.key, now);
      } else {
        std::size_t pos = 0;
        for (std::string_view k = protocol::next_key(cmd.key_list, pos); !k.empty();
             k = protocol::next_key(cmd.key_list, pos)) {
          t.record(KeyUse::read, k, now);
        }
      }
      break;
    case CommandType::meta_get: t.record(KeyUse::read, cmd.key, now); break;
    case CommandType::set:
    case CommandType::add:
    case CommandType::replace:
    case CommandType::append:
    case CommandType::prepend:
    case CommandType::cas:
    case CommandType::touch:
    case CommandType::del:
    case CommandType::incr:
    case CommandType::decr:
    case CommandType::meta_set:
    case CommandType::meta_delete:
    case CommandType::meta_arithmetic: t.record(KeyUse::write, cmd.key, now); break;
    default: break;
  }
}

}  // namespace memcoro::exec
