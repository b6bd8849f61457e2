// Table-driven text-parser cases, each checked whole and cut at every byte.
#include <absl/strings/escaping.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "memcoro/protocol/base64.hpp"
#include "memcoro/protocol/numbers.hpp"
#include "memcoro/protocol/text_parser.hpp"

using namespace memcoro::protocol;
using namespace std::string_literals;

namespace {

struct Case {
  std::string name;
  std::string input;
  ParseStatus status;
  CommandType type = CommandType::get;
  std::vector<std::string> keys = {};  // key (single) or keys (get)
  std::string data = {};
  std::string error = {};
  bool silent = false;
  bool noreply = false;
};

std::vector<Case> cases() {
  const std::string k250(250, 'k');
  const std::string k251(251, 'k');
  using S = ParseStatus;
  using T = CommandType;
  return {
      {"get", "get a\r\n", S::complete, T::get, {"a"}},
      {"get many", "get a b  c\r\n", S::complete, T::get, {"a", "b", "c"}},
      {"get lf only", "get a\n", S::complete, T::get, {"a"}},
      {"gets", "gets a b\r\n", S::complete, T::gets, {"a", "b"}},
      {"bget", "bget a\r\n", S::complete, T::get, {"a"}},
      {"gat", "gat 10 a b\r\n", S::complete, T::gat, {"a", "b"}},
      {"gats", "gats 10 a\r\n", S::complete, T::gats, {"a"}},
      {"gat bad exptime",
       "gat x a\r\n",
       S::error,
       T::gat,
       {},
       "",
       "CLIENT_ERROR invalid exptime argument"},
      {"get no key", "get\r\n", S::error, T::get, {}, "", "ERROR"},
      {"get 250", "get " + k250 + "\r\n", S::complete, T::get, {k250}},
      {"get 251",
       "get " + k251 + "\r\n",
       S::error,
       T::get,
       {},
       "",
       "CLIENT_ERROR bad command line format"},
      {"set", "set k 5 0 3\r\nabc\r\n", S::complete, T::set, {"k"}, "abc"},
      {"set empty", "set k 0 0 0\r\n\r\n", S::complete, T::set, {"k"}, ""},
      {"set value with crlf", "set k 0 0 4\r\na\r\nb\r\n", S::complete, T::set, {"k"}, "a\r\nb"},
      {"set noreply",
       "set k 0 0 1 noreply\r\nx\r\n",
       S::complete,
       T::set,
       {"k"},
       "x",
       "",
       false,
       true},
      {"add", "add k 0 0 1\r\nx\r\n", S::complete, T::add, {"k"}, "x"},
      {"replace", "replace k 0 0 1\r\nx\r\n", S::complete, T::replace, {"k"}, "x"},
      {"append", "append k 0 0 1\r\nx\r\n", S::complete, T::append, {"k"}, "x"},
      {"prepend", "prepend k 0 0 1\r\nx\r\n", S::complete, T::prepend, {"k"}, "x"},
      {"cas", "cas k 0 0 1 99\r\nx\r\n", S::complete, T::cas, {"k"}, "x"},
      {"cas bad unique",
       "cas k 0 0 1 x\r\n",
       S::error,
       T::cas,
       {},
       "",
       "CLIENT_ERROR bad command line format"},
      {"set key 251",
       "set " + k251 + " 0 0 1\r\n",
       S::error,
       T::set,
       {},
       "",
       "CLIENT_ERROR bad command line format"},
      {"set bad flags",
       "set k x 0 1\r\n",
       S::error,
       T::set,
       {},
       "",
       "CLIENT_ERROR bad command line format"},
      {"set flags overflow",
       "set k 4294967296 0 1\r\n",
       S::error,
       T::set,
       {},
       "",
       "CLIENT_ERROR bad command line format"},
      {"set negative length",
       "set k 0 0 -1\r\n",
       S::error,
       T::set,
       {},
       "",
       "CLIENT_ERROR bad command line format"},
      {"set bad length noreply",
       "set k 0 0 x noreply\r\n",
       S::error,
       T::set,
       {},
       "",
       "CLIENT_ERROR bad command line format",
       true},
      {"set bad chunk",
       "set k 0 0 1\r\nxyz",
       S::error,
       T::set,
       {},
       "",
       "CLIENT_ERROR bad data chunk"},
      {"set too many tokens", "set k 0 0 1 noreply x\r\n", S::error, T::set, {}, "", "ERROR"},
      {"incr", "incr n 5\r\n", S::complete, T::incr, {"n"}},
      {"decr noreply", "decr n 5 noreply\r\n", S::complete, T::decr, {"n"}, "", "", false, true},
      {"incr bad delta",
       "incr n -1\r\n",
       S::error,
       T::incr,
       {},
       "",
       "CLIENT_ERROR invalid numeric delta argument"},
      {"touch", "touch k 10\r\n", S::complete, T::touch, {"k"}},
      {"touch bad",
       "touch k x\r\n",
       S::error,
       T::touch,
       {},
       "",
       "CLIENT_ERROR invalid exptime argument"},
      {"delete", "delete k\r\n", S::complete, T::del, {"k"}},
      {"delete 0", "delete k 0\r\n", S::complete, T::del, {"k"}},
      {"delete hold",
       "delete k 5\r\n",
       S::error,
       T::del,
       {},
       "",
       "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"},
      {"flush_all", "flush_all\r\n", S::complete, T::flush_all},
      {"flush_all delay", "flush_all 10\r\n", S::complete, T::flush_all},
      {"flush_all bad",
       "flush_all x\r\n",
       S::error,
       T::flush_all,
       {},
       "",
       "CLIENT_ERROR invalid exptime argument"},
      {"version", "version\r\n", S::complete, T::version},
      {"verbosity", "verbosity 1\r\n", S::complete, T::verbosity},
      {"quit", "quit\r\n", S::complete, T::quit},
      {"stats", "stats\r\n", S::complete, T::stats},
      {"stats settings", "stats settings\r\n", S::complete, T::stats, {"settings"}},
      {"mn", "mn\r\n", S::complete, T::meta_noop},
      {"unknown", "foo\r\n", S::error, T::get, {}, "", "ERROR"},
      {"empty line", "\r\n", S::error, T::get, {}, "", "ERROR"},
      {"one letter", "g\r\n", S::error, T::get, {}, "", "ERROR"},
      {"nul ends line", "get a\0b\r\n"s, S::complete, T::get, {"a"}},
  };
}

std::vector<std::string_view> split_keys(const Command& cmd) {
  std::vector<std::string_view> keys;
  std::size_t pos = 0;
  for (auto k = next_key(cmd.key_list, pos); !k.empty(); k = next_key(cmd.key_list, pos)) {
    keys.push_back(k);
  }
  return keys;
}

void check(const Case& c, const ParseResult& r, const Command& cmd, std::size_t input_len) {
  INFO(c.name);
  REQUIRE(r.status == c.status);
  if (c.status == ParseStatus::error) {
    CHECK(r.error == c.error);
    CHECK(r.silent == c.silent);
    CHECK(r.consumed == input_len);
    return;
  }
  CHECK(r.consumed == input_len);
  CHECK(cmd.type == c.type);
  CHECK(cmd.noreply == c.noreply);
  if (c.type == CommandType::get || c.type == CommandType::gets || c.type == CommandType::gat ||
      c.type == CommandType::gats) {
    const std::vector<std::string_view> keys = split_keys(cmd);
    REQUIRE(keys.size() == c.keys.size());
    for (std::size_t i = 0; i < c.keys.size(); ++i) CHECK(keys[i] == c.keys[i]);
  } else if (c.type == CommandType::stats) {
    REQUIRE(cmd.args.size() == c.keys.size());
    for (std::size_t i = 0; i < c.keys.size(); ++i) CHECK(cmd.args[i] == c.keys[i]);
  } else if (!c.keys.empty()) {
    CHECK(cmd.key == c.keys[0]);
  }
  if (is_storage(c.type)) CHECK(cmd.data == c.data);
}

}  // namespace

TEST_CASE("each request parses the same whole and cut at every byte") {
  for (const Case& c : cases()) {
    Command cmd;
    ParseResult whole = parse_text(c.input, cmd);
    check(c, whole, cmd, c.input.size());
    for (std::size_t cut = 0; cut < c.input.size(); ++cut) {
      Command partial;
      ParseResult r = parse_text(std::string_view(c.input).substr(0, cut), partial);
      INFO(c.name << " cut at " << cut);
      REQUIRE(r.status == ParseStatus::need_more);
    }
    // Followed by another request: the first is still parsed alone.
    const std::string two = c.input + "version\r\n";
    Command first;
    ParseResult r = parse_text(two, first);
    check(c, r, first, c.input.size());
  }
}

TEST_CASE("pipelined requests parse one after another") {
  std::string in;
  for (int i = 0; i < 100; ++i) in += "set k" + std::to_string(i) + " 0 0 1\r\nx\r\nget k\r\n";
  Command cmd;
  std::size_t at = 0;
  int n = 0;
  while (at < in.size()) {
    ParseResult r = parse_text(std::string_view(in).substr(at), cmd);
    REQUIRE(r.status == ParseStatus::complete);
    at += r.consumed;
    ++n;
  }
  CHECK(n == 200);
}

TEST_CASE("a data block reports how many bytes it needs") {
  Command cmd;
  ParseResult r = parse_text("set k 0 0 100\r\nabc", cmd);
  REQUIRE(r.status == ParseStatus::need_more);
  CHECK(r.need == 15 + 102);
}

TEST_CASE("a too-large data block is refused without buffering it") {
  Command cmd;
  ParserLimits limits;
  limits.max_item_size = 1024;
  ParseResult r = parse_text("set k 0 0 5000\r\n", cmd, limits);
  REQUIRE(r.status == ParseStatus::complete);
  CHECK(cmd.too_large);
  CHECK(r.consumed == 16);
  CHECK(r.swallow == 5002);
}

TEST_CASE("long lines: closed unless a multi-get") {
  Command cmd;
  const std::string set_line = "set " + std::string(3000, 'a');
  CHECK(parse_text(set_line, cmd).status == ParseStatus::close);
  CHECK(parse_text(std::string(2048, 'a'), cmd).status == ParseStatus::need_more);
  CHECK(parse_text(std::string(2049, 'a'), cmd).status == ParseStatus::close);
  const std::string get_line = "get " + std::string(3000, 'a');
  CHECK(parse_text(get_line, cmd).status == ParseStatus::need_more);
  ParserLimits small;
  small.max_get_line = 2500;
  CHECK(parse_text(get_line, cmd, small).status == ParseStatus::close);
  // A long line that arrived whole with its line end is answered.
  CHECK(parse_text(set_line + "\r\n", cmd).status == ParseStatus::error);
}

TEST_CASE("get with more keys than memcached tokenizes at once") {
  std::string in = "get";
  for (int i = 0; i < 100; ++i) in += " k" + std::to_string(i);
  in += "\r\n";
  Command cmd;
  REQUIRE(parse_text(in, cmd).status == ParseStatus::complete);
  const std::vector<std::string_view> keys = split_keys(cmd);
  REQUIRE(keys.size() == 100);
  CHECK(keys[99] == "k99");
}

TEST_CASE("numbers follow memcached's strtol rules, without truncation") {
  CHECK(parse_u32("0") == 0u);
  CHECK(parse_u32("4294967295") == 4294967295u);
  CHECK_FALSE(parse_u32("4294967296"));
  CHECK_FALSE(parse_u32("-1"));
  CHECK(parse_u32("-0") == 0u);
  CHECK(parse_u32("+7") == 7u);
  CHECK(parse_u32("7\t") == 7u);
  CHECK_FALSE(parse_u32("7x"));
  CHECK_FALSE(parse_u32(""));
  CHECK_FALSE(parse_u32("x"));
  CHECK(parse_i32("-5") == -5);
  CHECK(parse_i32("2147483647") == 2147483647);
  CHECK_FALSE(parse_i32("2147483648"));
  CHECK(parse_i32("-2147483648") == INT32_MIN);
  CHECK_FALSE(parse_i32("-2147483649"));
  CHECK(parse_u64("18446744073709551615") == UINT64_MAX);
  CHECK_FALSE(parse_u64("18446744073709551616"));
}

// Issue 10: keys were decoded leniently (absl); memcached's decoder skips
// bytes outside the alphabet, wants a multiple of four, and lets '=' pad
// anywhere in the first padded group, which ends the key. The conformance
// cases compare these with memcached over a socket.
TEST_CASE("base64 keys are decoded as memcached decodes them") {
  struct Row {
    std::string_view in;
    bool ok;
    std::string_view out;
  };
  const Row rows[] = {
      {.in = "Zm9v", .ok = true, .out = "foo"},
      {.in = "Zm9v!", .ok = true, .out = "foo"},  // skipped byte
      {.in = "Zm.9v", .ok = true, .out = "foo"},
      {.in = "AQI=", .ok = true, .out = std::string_view("\x01\x02", 2)},
      {.in = "AA==AAAA", .ok = true, .out = std::string_view("\0", 1)},  // ends at the pad
      {.in = "A=AA", .ok = true, .out = std::string_view("\0\0", 2)},
      {.in = "Zm=v", .ok = true, .out = "f`"},
      {.in = "Zm9", .ok = false, .out = ""},
      {.in = "Zm9v=", .ok = false, .out = ""},
      {.in = "Zm9vYg", .ok = false, .out = ""},
      {.in = "Z===", .ok = false, .out = ""},
      {.in = "====", .ok = false, .out = ""},
      {.in = "!!!!", .ok = false, .out = ""},
      {.in = "", .ok = false, .out = ""},
  };
  for (const Row& row : rows) {
    INFO(row.in);
    std::string out;
    REQUIRE(decode_key_base64(row.in, out) == row.ok);
    if (row.ok) CHECK(out == row.out);
  }
  for (std::string_view raw : {"f", "fo", "foo", "\x01\x02\xff"}) {
    std::string back;
    const std::string encoded = absl::Base64Escape(absl::string_view(raw.data(), raw.size()));
    CHECK(encoded.size() % 4 == 0);
    REQUIRE(decode_key_base64(encoded, back));
    CHECK(back == raw);
  }
}

TEST_CASE("numbers land in fields named for them: exptime, flush delay, verbosity level") {
  Command cmd;
  REQUIRE(parse_text("touch k 30\r\n", cmd).status == ParseStatus::complete);
  CHECK(cmd.exptime == 30);
  REQUIRE(parse_text("flush_all 10\r\n", cmd).status == ParseStatus::complete);
  CHECK(cmd.has_delay);
  CHECK(cmd.delay == 10);
  CHECK(cmd.exptime == 0);
  REQUIRE(parse_text("flush_all\r\n", cmd).status == ParseStatus::complete);
  CHECK_FALSE(cmd.has_delay);
  REQUIRE(parse_text("verbosity 2\r\n", cmd).status == ParseStatus::complete);
  CHECK(cmd.level == 2u);
  CHECK(cmd.exptime == 0);
  REQUIRE(parse_text("slabs automove 1\r\n", cmd).status == ParseStatus::complete);
  REQUIRE(cmd.args.size() == 2);
  CHECK(cmd.args[1] == "1");
}
