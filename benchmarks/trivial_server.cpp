// The physical reference for benchmarks/compare: frames requests with
// memcoro's own parser and answers every get with END and every set with
// STORED (mg with EN and ms with HD, silent under q), storing nothing, one
// gathered write per batch, one thread per
// io_context. What memcoro achieves as a fraction of this is how close it
// is to what the machine can do.
//   trivial_server <port> <threads>
#include <boost/asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "memcoro/protocol/text_parser.hpp"

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

awaitable<void> serve(tcp::socket sock) {
  sock.set_option(tcp::no_delay(true));
  std::vector<char> buf(64 * 1024);
  std::size_t start = 0, end = 0;
  std::string out;
  memcoro::protocol::Command cmd;
  std::size_t swallow = 0;
  for (;;) {
    if (start == end) start = end = 0;
    if (end == buf.size()) {
      if (start > 0) {
        std::memmove(buf.data(), buf.data() + start, end - start);
        end -= start;
        start = 0;
      } else {
        buf.resize(buf.size() * 2);
      }
    }
    auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf.data() + end, buf.size() - end),
                                                 use_nothrow);
    if (ec || n == 0) co_return;
    end += n;
    for (;;) {
      if (swallow > 0) {
        const std::size_t k = std::min(swallow, end - start);
        start += k;
        swallow -= k;
        if (swallow > 0) break;
      }
      if (start == end) break;
      auto r =
          memcoro::protocol::parse_text(std::string_view(buf.data() + start, end - start), cmd);
      if (r.status == memcoro::protocol::ParseStatus::need_more) {
        if (r.need > buf.size()) buf.resize(r.need);
        break;
      }
      if (r.status == memcoro::protocol::ParseStatus::close) co_return;
      start += r.consumed;
      swallow = r.swallow;
      if (r.status == memcoro::protocol::ParseStatus::error) {
        out += "ERROR\r\n";
      } else if (memcoro::protocol::is_storage(cmd.type)) {
        if (!cmd.noreply) out += "STORED\r\n";
      } else if (cmd.type == memcoro::protocol::CommandType::meta_noop) {
        out += "MN\r\n";
      } else if (cmd.type == memcoro::protocol::CommandType::meta_set) {
        if (!cmd.meta.quiet) out += "HD\r\n";  // quiet: success is silent
      } else if (cmd.type == memcoro::protocol::CommandType::meta_get) {
        if (!cmd.meta.quiet) out += "EN\r\n";  // quiet: a miss is silent
      } else {
        out += "END\r\n";
      }
    }
    if (!out.empty()) {
      auto [wec, wn] = co_await asio::async_write(sock, asio::buffer(out), use_nothrow);
      if (wec) co_return;
      out.clear();
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
