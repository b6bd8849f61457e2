// Table-driven binary-parser cases (parse_binary), each checked whole and
// cut at every byte: a request split anywhere parses as the one sent whole.
#include "memcoro/protocol/binary_parser.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

using namespace memcoro::protocol;
namespace bin = memcoro::protocol::binary;

namespace {

struct Header {
  std::uint8_t magic = 0x80;
  std::uint8_t opcode = 0;
  int keylen = -1;  // -1: the key's length
  int extlen = -1;  // -1: the extras' length
  long long bodylen = -1;
  std::uint32_t opaque = 0;
  std::uint64_t cas = 0;
};

void put(std::string& s, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) s.push_back(static_cast<char>(v >> (8 * i)));
}

std::string req(Header h, const std::string& key = {}, const std::string& extras = {},
                const std::string& value = {}) {
  std::string s;
  put(s, h.magic, 1);
  put(s, h.opcode, 1);
  put(s, h.keylen < 0 ? key.size() : static_cast<std::size_t>(h.keylen), 2);
  put(s, h.extlen < 0 ? extras.size() : static_cast<std::size_t>(h.extlen), 1);
  put(s, 0, 3);  // datatype, vbucket
  put(s,
      h.bodylen < 0 ? extras.size() + key.size() + value.size()
                    : static_cast<std::uint64_t>(h.bodylen),
      4);
  put(s, h.opaque, 4);
  put(s, h.cas, 8);
  return s + extras + key + value;
}

std::string u32(std::uint32_t v) {
  std::string s;
  put(s, v, 4);
  return s;
}

std::string u64(std::uint64_t v) {
  std::string s;
  put(s, v, 8);
  return s;
}

struct Case {
  std::string name;
  std::string input;
  ParseStatus status = ParseStatus::complete;
  CommandType type = CommandType::get;
  std::string key = {};
  std::string data = {};
  std::uint16_t error = 0;  // cmd.bin.error
  bool close_after = false;
  bool quiet = false;
  std::size_t consumed = 0;  // 0: the whole input
  std::size_t swallow = 0;
};

std::vector<Case> cases() {
  using S = ParseStatus;
  using T = CommandType;
  const std::string setx = u32(3) + u32(0);
  return {
      {.name = "get", .input = req({.opcode = bin::get}, "k"), .key = "k"},
      {.name = "getkq quiet", .input = req({.opcode = bin::getkq}, "k"), .key = "k", .quiet = true},
      {.name = "set",
       .input = req({.opcode = bin::set}, "k", setx, "abc"),
       .type = T::set,
       .key = "k",
       .data = "abc"},
      {.name = "set with cas is a cas",
       .input = req({.opcode = bin::set, .cas = 9}, "k", setx, "abc"),
       .type = T::cas,
       .key = "k",
       .data = "abc"},
      {.name = "addq",
       .input = req({.opcode = bin::addq}, "k", setx, "v"),
       .type = T::add,
       .key = "k",
       .data = "v",
       .quiet = true},
      {.name = "append",
       .input = req({.opcode = bin::append}, "k", "", "v"),
       .type = T::append,
       .key = "k",
       .data = "v"},
      {.name = "incr",
       .input = req({.opcode = bin::incr}, "n", u64(1) + u64(5) + u32(0)),
       .type = T::incr,
       .key = "n"},
      {.name = "noop", .input = req({.opcode = bin::noop}), .type = T::meta_noop},
      {.name = "flush delay",
       .input = req({.opcode = bin::flush}, "", u32(5)),
       .type = T::flush_all},
      {.name = "stat group",
       .input = req({.opcode = bin::stat}, "items"),
       .type = T::stats,
       .key = "items"},
      {.name = "touch body past key is the next request",
       .input = req({.opcode = bin::touch, .bodylen = 9}, "k", u32(10)) + "xyzz",
       .type = T::touch,
       .key = "k",
       .consumed = 29},
      {.name = "header only",
       .input = req({.opcode = bin::get}).substr(0, 20),
       .status = S::need_more},
      {.name = "key not all here",
       .input = req({.opcode = bin::get}, "key").substr(0, 25),
       .status = S::need_more},
      {.name = "bad magic",
       .input = req({.magic = 0x81, .opcode = bin::get}, "k"),
       .status = S::close},
      {.name = "keylen over bodylen",
       .input = req({.opcode = bin::get, .keylen = 5, .bodylen = 1}, "k"),
       .error = bin::unknown,
       .close_after = true,
       .consumed = 24},
      {.name = "key over 250",
       .input = req({.opcode = bin::get}, std::string(251, 'k')),
       .error = bin::invalid,
       .close_after = true,
       .consumed = 24},
      {.name = "get with extras",
       .input = req({.opcode = bin::get}, "k", u32(0)),
       .error = bin::invalid,
       .close_after = true},
      {.name = "set without extras",
       .input = req({.opcode = bin::set}, "k", "", "v"),
       .error = bin::invalid,
       .close_after = true,
       .consumed = 25},
      {.name = "unknown opcode swallows its value",
       .input = req({.opcode = 0x40}, "", "", "abc"),
       .error = bin::unknown,
       .consumed = 24,
       .swallow = 3},
      {.name = "verbosity is not served",
       .input = req({.opcode = 0x1b}, "", u32(1)),
       .error = bin::unknown},
  };
}

void check(const Case& c, const std::string& in, const ParseResult& r, const Command& cmd) {
  INFO(c.name);
  REQUIRE(r.status == c.status);
  if (c.status != ParseStatus::complete) return;
  CHECK(r.consumed == (c.consumed == 0 ? in.size() : c.consumed));
  CHECK(r.swallow == c.swallow);
  CHECK(cmd.binary);
  CHECK(cmd.bin.error == c.error);
  CHECK(cmd.bin.close_after == c.close_after);
  if (c.error != 0) return;
  CHECK(cmd.type == c.type);
  CHECK(cmd.key == c.key);
  CHECK(cmd.data == c.data);
  CHECK(cmd.bin.quiet == c.quiet);
  CHECK(cmd.noreply == c.quiet);
}

}  // namespace

TEST_CASE("binary requests parse whole and cut at every byte") {
  for (const Case& c : cases()) {
    Command cmd;
    check(c, c.input, parse_binary(c.input, cmd), cmd);
    if (c.status != ParseStatus::complete) continue;
    // Every prefix short of the request waits for more (or already knows
    // the answer, for the refusals that need only the header).
    for (std::size_t cut = 0; cut < c.input.size(); ++cut) {
      Command part;
      const ParseResult r = parse_binary(std::string_view(c.input).substr(0, cut), part);
      INFO(c.name << " cut at " << cut);
      if (r.status == ParseStatus::complete) {
        CHECK(r.consumed <= cut);
        CHECK(part.bin.error == c.error);
      } else {
        CHECK(r.status == ParseStatus::need_more);
      }
    }
  }
}

TEST_CASE("binary header fields reach the command") {
  const std::string in = req({.opcode = bin::incrq, .opaque = 0xabcdef01, .cas = 77}, "n",
                             u64(3) + u64(10) + u32(0xffffffff));
  Command cmd;
  REQUIRE(parse_binary(in, cmd).status == ParseStatus::complete);
  CHECK(cmd.bin.opcode == bin::incrq);
  CHECK(cmd.bin.opaque == 0xabcdef01u);
  CHECK(cmd.bin.cas == 77u);
  CHECK(cmd.delta == 3u);
  CHECK(cmd.bin.initial == 10u);
  CHECK_FALSE(cmd.bin.vivify);  // 0xffffffff: do not create
}

TEST_CASE("a storage value waits as a block, without a trailing \\r\\n") {
  const std::string in = req({.opcode = bin::set}, "k", u32(0) + u32(0), std::string(100, 'v'));
  Command cmd;
  const ParseResult r = parse_binary(std::string_view(in).substr(0, 40), cmd);
  CHECK(r.status == ParseStatus::need_more);
  CHECK(r.block);
  CHECK(r.consumed == 33u);
  CHECK(r.need == in.size());
  CHECK(cmd.data_len == 100u);
}

TEST_CASE("a value over the item limit is refused unbuffered") {
  ParserLimits limits;
  limits.max_item_size = 64;
  const std::string in = req({.opcode = bin::set}, "k", u32(0) + u32(0), std::string(100, 'v'));
  Command cmd;
  const ParseResult r = parse_binary(std::string_view(in).substr(0, 33), cmd, limits);
  CHECK(r.status == ParseStatus::complete);
  CHECK(cmd.too_large);
  CHECK(r.consumed == 33u);
  CHECK(r.swallow == 100u);
}

TEST_CASE("memcached's texts for the error statuses") {
  CHECK(bin::status_text(bin::not_found) == "Not found");
  CHECK(bin::status_text(bin::exists) == "Data exists for key.");
  CHECK(bin::status_text(bin::unknown) == "Unknown command");
}
