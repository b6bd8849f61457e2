// exec::Connection without a socket: the same bytes give the same replies
// however they are cut, large values arrive in place, and the connection
// says when to write and when to close.
#include <algorithm>
#include <string>

#include "exec_world.hpp"

using namespace memcoro;

namespace {

struct Fixture : test::ExecWorld {
  Result run(std::string_view in, std::size_t chunk) { return feed(in, chunk); }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "the same bytes give the same replies however they are cut") {
  const std::string in =
      "set a 1 0 3\r\nabc\r\nget a b\r\nms m 2\r\nhi\r\nmg m v\r\n"
      "bogus\r\nincr n 1\r\nmn\r\n";
  const std::string whole = run(in, in.size()).replies;
  CHECK(whole ==
        "STORED\r\nVALUE a 1 3\r\nabc\r\nEND\r\nHD\r\nVA 2\r\nhi\r\nERROR\r\nNOT_FOUND\r\nMN\r\n");
  for (std::size_t chunk : {1u, 2u, 7u, 13u}) {
    store.flush_all(0);
    CHECK(run(in, chunk).replies == whole);
  }
}

TEST_CASE_METHOD(Fixture, "a large value is received straight into its item") {
  const std::string big(100'000, 'v');
  const Result r = run("set big 5 0 100000\r\n" + big + "\r\nget big\r\n", 4096);
  CHECK(r.replies == "STORED\r\nVALUE big 5 100000\r\n" + big + "\r\nEND\r\n");
  CHECK(r.exact_reads > 90'000);  // all but the first read's share
}

TEST_CASE_METHOD(Fixture, "a large value without its \\r\\n is a bad chunk and is not stored") {
  const std::string big(20'000, 'v');
  const Result r = run("set big 0 0 20000\r\n" + big + "XYget big\r\n", 4096);
  CHECK(r.replies == "CLIENT_ERROR bad data chunk\r\nEND\r\n");
}

TEST_CASE_METHOD(Fixture, "a refused large value is skipped, and what follows runs") {
  limits.max_item_size = 1 << 20;
  const std::string big(2'000'000, 'v');
  const Result r = run("set big 0 0 2000000\r\n" + big + "\r\nmn\r\n", 65536);
  CHECK(r.replies == "SERVER_ERROR object too large for cache\r\nMN\r\n");
  CHECK(r.exact_reads == 0);
}

TEST_CASE_METHOD(Fixture, "quit: earlier replies are written, then the connection closes") {
  const Result r = run("set a 0 0 1\r\nx\r\nquit\r\nget a\r\n", 1000);
  CHECK(r.replies == "STORED\r\n");
  CHECK(r.closed);
}

TEST_CASE_METHOD(Fixture, "a first byte of 0x80 picks the binary protocol") {
  // A binary NOOP (opaque 7), then text: not a binary header, so closed.
  std::string noop(24, '\0');
  noop[0] = '\x80';
  noop[1] = '\x0a';
  noop[15] = '\x07';
  const Result r = run(noop + "get a\r\n" + std::string(24, 'x'), 1000);
  std::string reply(24, '\0');
  reply[0] = '\x81';
  reply[1] = '\x0a';
  reply[15] = '\x07';
  CHECK(r.replies == reply);
  CHECK(r.closed);
}

TEST_CASE_METHOD(Fixture, "a multi-get over the reply limit is written in parts") {
  ctx.reply_limit = 64;
  std::string in;
  for (int i = 0; i < 20; ++i) in += "set k" + std::to_string(i) + " 0 0 10\r\n0123456789\r\n";
  in += "get";
  for (int i = 0; i < 20; ++i) in += " k" + std::to_string(i);
  in += "\r\n";
  const Result r = run(in, in.size());
  CHECK(r.writes > 5);
  CHECK(std::count(r.replies.begin(), r.replies.end(), 'V') == 20);
  CHECK(r.replies.ends_with("0123456789\r\nEND\r\n"));
}
