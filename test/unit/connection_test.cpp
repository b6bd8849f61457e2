// exec::Connection without a socket: the same bytes give the same replies
// however they are cut, large values arrive in place, and the connection
// says when to write and when to close.
#include <algorithm>
#include <cstdint>
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

namespace {

// A binary-protocol request: header, extras, key, value.
std::string bin_req(std::uint8_t op, std::string_view key, std::string_view extras = {},
                    std::string_view value = {}, std::uint32_t opaque = 0) {
  std::string s(24, '\0');
  s[0] = '\x80';
  s[1] = static_cast<char>(op);
  s[2] = static_cast<char>(key.size() >> 8);
  s[3] = static_cast<char>(key.size());
  s[4] = static_cast<char>(extras.size());
  const std::size_t body = extras.size() + key.size() + value.size();
  for (int i = 0; i < 4; ++i) {
    s[8 + i] = static_cast<char>(body >> (24 - 8 * i));
    s[12 + i] = static_cast<char>(opaque >> (24 - 8 * i));
  }
  return s.append(extras).append(key).append(value);
}

const std::string kSetExtras(8, '\0');  // flags 0, exptime 0

}  // namespace

TEST_CASE_METHOD(Fixture, "a large binary value is received in place and read back by both") {
  const std::string big(100'000, 'v');
  const Result r = run(bin_req(0x11, "big", kSetExtras, big) + bin_req(0x00, "big"), 4096);
  CHECK(r.exact_reads > 90'000);
  // SETQ: no reply. GET: flags, then the value alone (sent from the item).
  REQUIRE(r.replies.size() == 24 + 4 + big.size());
  CHECK(r.replies.substr(0, 2) == std::string("\x81\x00", 2));
  CHECK(r.replies.substr(28) == big);
  // The item keeps the "\r\n" a text get sends.
  const Result t = run("get big\r\n", 1000);
  CHECK(t.replies == "VALUE big 0 100000\r\n" + big + "\r\nEND\r\n");
}

TEST_CASE_METHOD(Fixture, "quiet binary gets answer hits only, in order, cut anywhere") {
  run("set a 0 0 1\r\nA\r\nset c 0 0 1\r\nC\r\n", 1000);
  const std::string in = bin_req(0x0d, "a", {}, {}, 1) + bin_req(0x0d, "b", {}, {}, 2) +
                         bin_req(0x0d, "c", {}, {}, 3) + bin_req(0x0a, {}, {}, {}, 4);
  const std::string whole = run(in, in.size()).replies;
  // Two hits (24 + 4 flags + 1 key + 1 value each) and the NOOP.
  REQUIRE(whole.size() == 30 + 30 + 24);
  CHECK(whole[15] == 1);
  CHECK(whole[30 + 15] == 3);
  CHECK(whole[60 + 1] == '\x0a');
  for (std::size_t chunk : {1u, 5u, 23u}) CHECK(run(in, chunk).replies == whole);
}

TEST_CASE_METHOD(Fixture, "binary bytes that are not a request close the connection") {
  const Result r = run(bin_req(0x0a, {}) + std::string(24, 'x') + bin_req(0x0b, {}), 1000);
  CHECK(r.replies.size() == 24);  // the NOOP's
  CHECK(r.closed);
}
