#include "memcoro/exec/feed.hpp"

#include <algorithm>
#include <cstring>

namespace memcoro::exec {

Fed feed(Connection& conn, std::string_view in, const std::function<bool(const Output&)>& write) {
  using Step = Connection::Step;
  for (;;) {
    const Step step = conn.next();
    switch (step.kind) {
      case Step::close: return Fed::closed;
      case Step::wait: return Fed::watching;
      case Step::write: {
        const bool go_on = write(conn.output());
        conn.output().clear();
        if (!go_on) return Fed::stopped;
        break;
      }
      case Step::read: {
        if (in.empty()) return Fed::taken;
        const std::size_t k = std::min(in.size(), step.space.size());
        std::memcpy(step.space.data(), in.data(), k);
        in.remove_prefix(k);
        conn.received(k);
        break;
      }
      case Step::read_exact:
        // received() would finish the value: only with all of it.
        if (in.size() < step.space.size()) return Fed::cut;
        std::memcpy(step.space.data(), in.data(), step.space.size());
        in.remove_prefix(step.space.size());
        conn.received(step.space.size());
        break;
    }
  }
}

}  // namespace memcoro::exec
