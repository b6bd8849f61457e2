// The meta client against a live server: client_check <port>. The same
// program runs against memcoro and against Debian's memcached
// (test_client.py) and must pass on both. Exit status: failed checks.
#include <boost/asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "memcoro/client/connection.hpp"

namespace asio = boost::asio;
using namespace memcoro::client;

namespace {
int failures = 0;

void check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

asio::awaitable<void> run(std::uint16_t port) {
  Connection c = co_await Connection::connect("127.0.0.1", port);
  co_await c.text("flush_all\r\n", "\r\n");

  Result r = co_await c.get("cc:missing");
  check(r.ok() && r.response.miss(), "get of a missing key misses");

  r = co_await c.set("cc:a", "hello", 100, 42);
  check(r.ok() && r.response.status == Status::ok, "set stores");
  r = co_await c.get("cc:a");
  check(r.ok() && r.response.hit() && r.response.value == "hello", "get returns the value");
  check(r.response.client_flags() == 42u, "get returns the client flags");
  check(r.response.ttl() && *r.response.ttl() > 90 && *r.response.ttl() <= 100,
        "get returns the TTL");
  const auto cas = r.response.cas();
  check(cas.has_value(), "get returns the CAS");

  r = co_await c.execute(Request::set("cc:a", "v2").compare_cas(*cas + 1000));
  check(r.ok() && r.response.status == Status::exists, "a wrong CAS is refused (EX)");
  r = co_await c.execute(Request::set("cc:a", "v2").compare_cas(*cas).return_cas());
  check(r.ok() && r.response.status == Status::ok && r.response.cas() != cas,
        "the right CAS stores and returns a new CAS");

  r = co_await c.execute(Request::set("cc:a", "x").mode('E'));
  check(r.ok() && r.response.status == Status::not_stored, "add mode on an existing key: NS");
  r = co_await c.execute(Request::set("cc:a", "!").mode('A'));
  r = co_await c.get("cc:a");
  check(r.response.value == "v2!", "append mode appends");

  r = co_await c.execute(Request::get("cc:a").opaque(77).return_key());
  check(r.ok() && r.response.opaque() == "77" && r.response.key() == "cc:a",
        "opaque and key come back");

  r = co_await c.execute(Request::arith("cc:n").vivify(0).initial(10).return_value());
  check(r.ok() && r.response.value == "10", "ma vivifies with the initial value");
  r = co_await c.execute(Request::arith("cc:n").delta(5).return_value());
  check(r.response.value == "15", "ma increments by the delta");
  r = co_await c.execute(Request::arith("cc:n").mode('D').delta(100).return_value());
  check(r.response.value == "0", "ma decrements to zero, not below");

  // Stale-while-revalidate with two connections.
  Connection other = co_await Connection::connect("127.0.0.1", port);
  co_await c.set("cc:swr", "old");
  r = co_await c.execute(Request::del("cc:swr").invalidate().ttl(30));
  check(r.ok() && r.response.status == Status::ok, "md I marks stale");
  r = co_await c.execute(Request::get("cc:swr").return_value());
  check(r.response.stale() && r.response.win(), "the first reader of a stale item wins");
  Result r2 = co_await other.execute(Request::get("cc:swr").return_value());
  check(r2.response.stale() && r2.response.already_won() && !r2.response.win(),
        "the second reader sees that someone else won");
  co_await c.set("cc:swr", "new");
  r2 = co_await other.get("cc:swr");
  check(r2.response.value == "new" && !r2.response.stale(), "a new set ends staleness");

  // A pipelined quiet batch: only misses... are hidden; hits come back.
  co_await c.set("cc:b1", "1");
  co_await c.set("cc:b3", "3");
  std::vector<Request> batch = {
      Request::get("cc:b1").return_value().quiet().return_key(),
      Request::get("cc:b2").return_value().quiet().return_key(),
      Request::get("cc:b3").return_value().quiet().return_key(),
      Request::set("cc:b4", "4").quiet(),
      Request::set("cc:b1", "x").mode('E').quiet(),
  };
  BatchResult b = co_await c.batch(batch);
  check(b.ok() && b.responses.size() == 3, "a quiet batch answers hits and failures only");
  if (b.responses.size() == 3) {
    check(b.responses[0].key() == "cc:b1" && b.responses[0].value == "1", "batch: first hit");
    check(b.responses[1].key() == "cc:b3" && b.responses[1].value == "3", "batch: second hit");
    check(b.responses[2].status == Status::not_stored, "batch: the failed add");
  }

  r = co_await c.execute(Request::get(std::string("bin\0key", 7)).base64_key());
  check(r.ok() && r.response.miss(), "base64 keys are sent encoded");
  co_await c.execute(Request::set(std::string("bin\0key", 7), "b").base64_key());
  r = co_await c.execute(Request::get(std::string("bin\0key", 7)).base64_key().return_value());
  check(r.response.value == "b", "a binary key round-trips");

  r = co_await c.execute(Request::get("cc:a").opaque(1).opaque(2));
  check(!r.ok() && r.error->kind == Error::Kind::client && !r.error->must_close(),
        "a duplicate flag is a client error that keeps the connection");
  r = co_await c.get("cc:a");
  check(r.ok() && r.response.value == "v2!", "the connection still works after an error");

  Result t = co_await c.text("get cc:b1\r\n", "END\r\n");
  check(t.ok() && t.response.value == "VALUE cc:b1 0 1\r\n1\r\nEND\r\n",
        "text and meta share items");
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: client_check <port>\n");
    return 64;
  }
  asio::io_context ctx;
  asio::co_spawn(ctx, run(static_cast<std::uint16_t>(std::atoi(argv[1]))),
                 [](std::exception_ptr e) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       std::printf("FAIL exception: %s\n", ex.what());
                       ++failures;
                     }
                   }
                 });
  ctx.run();
  return failures;
}
