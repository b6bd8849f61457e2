// The physical reference for benchmarks/compare: frames requests with
// memcoro's own connection handler (exec::Connection) and answers every get with END and every set
// with STORED (mg with EN and ms with HD, silent under q), storing nothing, one gathered write per
// batch, one thread per io_context. What memcoro achieves as a fraction of this is how close it is
// to what the machine can do.
//   trivial_server <port> <threads>
#include <boost/asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "memcoro/exec/connection.hpp"
#include "trivial_runner.hpp"

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

using memcoro::bench::TrivialRunner;

// The same transport loop as memcoro's (lib/server), minus its limits.
awaitable<void> serve(tcp::socket sock) {
  sock.set_option(tcp::no_delay(true));
  const memcoro::protocol::ParserLimits limits;
  TrivialRunner runner;
  memcoro::exec::Connection conn(runner, limits);
  std::vector<asio::const_buffer> iov;
  for (;;) {
    const memcoro::exec::Connection::Step step = conn.next();
    switch (step.kind) {
      case memcoro::exec::Connection::Step::close:
      case memcoro::exec::Connection::Step::wait: co_return;
      case memcoro::exec::Connection::Step::write: {
        iov.clear();
        conn.output().for_each_span(
            [&](std::string_view s) { iov.emplace_back(s.data(), s.size()); });
        auto [ec, n] = co_await asio::async_write(sock, iov, use_nothrow);
        if (ec) co_return;
        conn.output().clear();
        break;
      }
      case memcoro::exec::Connection::Step::read:
      case memcoro::exec::Connection::Step::read_exact: {
        auto [ec, n] = co_await asio::async_read(
            sock, asio::buffer(step.space.data(), step.space.size()),
            asio::transfer_at_least(
                step.kind == memcoro::exec::Connection::Step::read ? 1 : step.space.size()),
            use_nothrow);
        if (ec || n == 0) co_return;
        conn.received(n);
        break;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: trivial_server <port> <threads>\n");
    return 64;
  }
  const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  const int threads = std::max(1, std::atoi(argv[2]));
  asio::io_context accept_ctx(1);
  std::vector<std::unique_ptr<asio::io_context>> ctxs;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (int i = 0; i < threads; ++i) {
    ctxs.push_back(std::make_unique<asio::io_context>(1));
    guards.push_back(asio::make_work_guard(*ctxs.back()));
  }
  tcp::acceptor acceptor(accept_ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::co_spawn(
      accept_ctx,
      [&]() -> awaitable<void> {
        for (std::size_t next = 0;; next = (next + 1) % ctxs.size()) {
          auto [ec, sock] = co_await acceptor.async_accept(*ctxs[next], use_nothrow);
          if (ec) co_return;
          asio::co_spawn(*ctxs[next], serve(std::move(sock)), asio::detached);
        }
      },
      asio::detached);
  std::vector<std::thread> pool;
  for (auto& c : ctxs) pool.emplace_back([&c] { c->run(); });
  accept_ctx.run();
  for (auto& t : pool) t.join();
}
