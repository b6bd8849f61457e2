#pragma once
// A store and an exec::Context over it, and a client feeding bytes to an
// exec::Connection as a socket would: shared by the exec and connection tests.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <string_view>

#include "memcoro/exec/connection.hpp"
#include "memcoro/exec/execute.hpp"

namespace memcoro::test {

struct ExecWorld {
  store::ManualClock clock{1'700'000'000};
  store::Store store{store::StoreConfig{}, clock};
  stats::ThreadCounters counters;
  exec::Context ctx{store, counters, nullptr};
  protocol::ParserLimits limits;

  struct Result {
    std::string replies;
    bool closed = false;  // the connection asked to close
    std::size_t writes = 0;
    std::size_t exact_reads = 0;  // bytes received in place
    std::size_t unread = 0;       // bytes of `in` the connection did not take
  };

  // Feeds `in` to a new connection over the store in pieces of at most
  // `chunk` bytes, as reads would, until it is all taken.
  Result feed(std::string_view in, std::size_t chunk) {
    using Step = exec::Connection::Step;
    exec::StoreRunner runner(ctx);
    exec::Connection conn(runner, limits);
    Result r;
    for (;;) {
      const Step step = conn.next();
      if (step.kind == Step::close) {
        r.closed = true;
        break;
      }
      if (step.kind == Step::wait) break;  // a watcher, with nothing to send
      if (step.kind == Step::write) {
        REQUIRE_FALSE(conn.output().empty());
        conn.output().for_each_span([&](std::string_view p) { r.replies += p; });
        conn.output().clear();
        ++r.writes;
        continue;
      }
      std::size_t n = std::min(in.size(), step.space.size());
      if (step.kind == Step::read) {
        n = std::min(n, chunk);
      } else {
        if (n < step.space.size()) break;  // the client left inside a value
        r.exact_reads += n;
      }
      if (n == 0) break;
      std::memcpy(step.space.data(), in.data(), n);
      in.remove_prefix(n);
      conn.received(n);
    }
    r.unread = in.size();
    return r;
  }
};

}  // namespace memcoro::test
