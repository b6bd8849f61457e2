// The meta client without sockets: every request shape, every response,
// every split point.
#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "memcoro/client/meta.hpp"
#include "memcoro/client/reply_scanner.hpp"

using namespace memcoro::client;

namespace {
std::string bytes(const Request& r) {
  std::string out;
  write_request(r, out);
  return out;
}
}  // namespace

TEST_CASE("requests serialize with their flags in the order added") {
  CHECK(bytes(Request::get("k")) == "mg k\r\n");
  CHECK(bytes(Request::get("k").return_value().return_cas().ttl(30).quiet().opaque(7)) ==
        "mg k v c T30 q O7\r\n");
  CHECK(bytes(Request::get("k").return_flags().return_ttl().return_key().return_size()) ==
        "mg k f t k s\r\n");
  CHECK(
      bytes(Request::get("k").vivify(30).recache(10).no_bump().return_hit().return_last_access()) ==
      "mg k N30 R10 u h l\r\n");
  CHECK(bytes(Request::set("k", "abc")) == "ms k 3\r\nabc\r\n");
  CHECK(bytes(Request::set("k", "").client_flags(5).ttl(-1).compare_cas(99).mode('E')) ==
        "ms k 0 F5 T-1 C99 ME\r\n\r\n");
  CHECK(bytes(Request::set("k", "v").invalidate().new_cas(12)) == "ms k 1 I E12\r\nv\r\n");
  CHECK(bytes(Request::del("k").invalidate().ttl(30)) == "md k I T30\r\n");
  CHECK(bytes(Request::arith("n").delta(5).initial(1).vivify(0).mode('D').return_value()) ==
        "ma n D5 J1 N0 MD v\r\n");
  CHECK(bytes(Request::noop()) == "mn\r\n");
  CHECK(bytes(Request::get(std::string("bin\0key", 7)).base64_key().return_key()) ==
        "mg YmluAGtleQ== b k\r\n");
  std::ostringstream stream;
  write_request(Request::get("k").return_value(), stream);
  CHECK(stream.str() == "mg k v\r\n");
  CHECK(Request::get("k").quiet().is_quiet());
  CHECK_FALSE(Request::get("k").return_value().is_quiet());
}

TEST_CASE("every response status, with its flags") {
  struct Row {
    std::string in;
    Status status;
    std::string value;
  };
  const std::vector<Row> rows = {
      {"VA 3 s3 c99 t-1 f5 Oab kkey W X Z\r\nabc\r\n", Status::value, "abc"},
      {"VA 0\r\n\r\n", Status::value, ""},
      {"VA 4\r\na\r\nb\r\n", Status::value, "a\r\nb"},
      {"HD c5\r\n", Status::ok, ""},
      {"HD\r\n", Status::ok, ""},
      {"EN\r\n", Status::miss, ""},
      {"NS\r\n", Status::not_stored, ""},
      {"EX c1\r\n", Status::exists, ""},
      {"NF O9\r\n", Status::not_found, ""},
      {"MN\r\n", Status::noop, ""},
      {"ME k exp=-1 la=0 cas=1 fetch=no cls=1 size=60\r\n", Status::debug, ""},
  };
  for (const Row& row : rows) {
    INFO(row.in);
    Response r;
    ReadResult rr = read_response(row.in, r);
    REQUIRE(rr.status == ReadStatus::complete);
    CHECK(rr.consumed == row.in.size());
    CHECK(r.status == row.status);
    CHECK(r.value == row.value);
    // Cut anywhere, it asks for more, and never misparses.
    for (std::size_t cut = 0; cut < row.in.size(); ++cut) {
      Response partial;
      INFO("cut at " << cut);
      CHECK(read_response(std::string_view(row.in).substr(0, cut), partial).status ==
            ReadStatus::need_more);
    }
  }
  Response r;
  read_response("VA 3 s3 c99 t-1 f5 Oab kkey W X Z\r\nabc\r\n", r);
  CHECK(r.hit());
  CHECK(r.size() == 3u);
  CHECK(r.cas() == 99u);
  CHECK(r.ttl() == -1);
  CHECK(r.client_flags() == 5u);
  CHECK(r.opaque() == "ab");
  CHECK(r.key() == "key");
  CHECK(r.win());
  CHECK(r.stale());
  CHECK(r.already_won());
  read_response("EN\r\n", r);
  CHECK(r.miss());
  CHECK_FALSE(r.hit());
  CHECK_FALSE(r.cas());
  CHECK_FALSE(r.win());
}

TEST_CASE("errors say whether the connection must be closed") {
  struct Row {
    std::string in;
    Error::Kind kind;
    bool close;
  };
  for (const Row& row : std::vector<Row>{
           {"CLIENT_ERROR bad command line format\r\n", Error::Kind::client, false},
           {"SERVER_ERROR out of memory storing object\r\n", Error::Kind::server, false},
           {"ERROR\r\n", Error::Kind::generic, false},
           {"BOGUS reply\r\n", Error::Kind::parse, true},
           {"VA x\r\n", Error::Kind::parse, true},
           {"VA 1\r\nabc\r\n", Error::Kind::parse, true},
           {"HD\n", Error::Kind::parse, true},
       }) {
    INFO(row.in);
    Response r;
    ReadResult rr = read_response(row.in, r);
    REQUIRE(rr.status == ReadStatus::error);
    CHECK(rr.error->kind == row.kind);
    CHECK(rr.error->must_close() == row.close);
  }
}

TEST_CASE("a quiet batch reads up to its MN") {
  const std::string in = "VA 1\r\na\r\nNS\r\nCLIENT_ERROR bad\r\nMN\r\nHD\r\n";
  for (std::size_t cut = 0; cut < in.size() - 4; ++cut) {
    std::vector<Response> out;
    if (cut < in.size() - 4 - 4) {
      CHECK(read_batch(std::string_view(in).substr(0, cut), out).status == ReadStatus::need_more);
      CHECK(out.empty());
    }
  }
  std::vector<Response> out;
  ReadResult rr = read_batch(in, out);
  REQUIRE(rr.status == ReadStatus::complete);
  CHECK(rr.consumed == in.size() - 4);  // the HD after MN is left
  REQUIRE(out.size() == 3);
  CHECK(out[0].value == "a");
  CHECK(out[1].status == Status::not_stored);
  CHECK(out[2].status == Status::error);
  CHECK(out[2].line == "CLIENT_ERROR bad");
}

TEST_CASE("scan_reply finds where a text or meta reply ends and counts it") {
  using memcoro::client::ReplyCount;
  using memcoro::client::scan_reply;
  ReplyCount c;
  const std::string_view get = "VALUE a 0 2\r\nhi\r\nVALUE b 5 3 77\r\nabc\r\nEND\r\nSTORED\r\n";
  CHECK(scan_reply(get, false, 3, c) == get.size() - 8);
  CHECK(c.hits == 2);
  CHECK(c.misses == 1);
  CHECK_FALSE(c.error);
  CHECK(scan_reply(get.substr(0, 20), false, 3, c) == 0);  // a value cut short
  CHECK(scan_reply("STORED\r\n", false, 1, c) == 8);
  CHECK(scan_reply("SERVER_ERROR out of memory\r\n", false, 1, c) == 28);
  CHECK(c.error);
  CHECK(scan_reply("VA 2 f1\r\nhi\r\nEN\r\n", true, 1, c) == 13);
  CHECK(c.hits == 1);
  CHECK(scan_reply("EN\r\n", true, 1, c) == 4);
  CHECK(c.misses == 1);
  CHECK(scan_reply("VA 2\r\nh", true, 1, c) == 0);
}
