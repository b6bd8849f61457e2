// --handshakes: what a new connection costs the server. Each cycle connects,
// shakes hands (under --tls; a full handshake, no session resumption), asks
// `version` and closes; the latency of an op is the whole cycle. The client
// closes the socket without a TLS close_notify, as a client that is done
// often does; both servers take that for an ordinary close.
#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <string_view>

#include "connect.hpp"
#include "session.hpp"

namespace memcoro::bench {

using asio::awaitable;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view version_request = "version\r\n";

// One `version` round trip; false unless the reply is a VERSION line.
template <class Stream>
awaitable<bool> ask_version(Stream& stream, Totals& totals) {
  auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(version_request), use_nothrow);
  if (wec) co_return false;
  totals.bytes_sent += wn;
  std::array<char, 256> in;
  std::size_t end = 0;
  while (std::string_view(in.data(), end).find("\r\n") == std::string_view::npos) {
    if (end == in.size()) co_return false;
    auto [rec, rn] = co_await stream.async_read_some(asio::buffer(in.data() + end, in.size() - end),
                                                     use_nothrow);
    if (rec) co_return false;
    end += rn;
  }
  totals.bytes_received += end;
  co_return std::string_view(in.data(), end).starts_with("VERSION ");
}

// One cycle: connect, handshake, version, close. Returns what failed, or
// nullptr.
awaitable<const char*> cycle(Shared& sh, Totals& totals) {
  tcp::socket sock(co_await asio::this_coro::executor);
  if (co_await connect(sock, sh.opt)) co_return "connect";
  if (sh.tls == nullptr) co_return co_await ask_version(sock, totals) ? nullptr : "version";
  TlsStream stream(std::move(sock), *sh.tls);
  if (co_await handshake(stream)) co_return "TLS handshake";
  co_return co_await ask_version(stream, totals) ? nullptr : "version";
}

}  // namespace

awaitable<void> handshake_connection(Shared& sh, Totals& totals) {
  const Options& o = sh.opt;
  while (!sh.stop.load(std::memory_order_relaxed)) {
    if (o.requests != 0 && sh.issued.fetch_add(1) >= o.requests) break;
    const auto start = Clock::now();
    if (const char* failed = co_await cycle(sh, totals)) {
      // A server out of connections or refusing handshakes would make this
      // loop spin; one report per connection is enough to see why.
      if (totals.errors++ == 0) std::fprintf(stderr, "--handshakes: %s failed\n", failed);
      continue;
    }
    totals.latency.add(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count()));
    ++totals.ops;
    sh.done.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace memcoro::bench
