// Authentication without a socket: the credential file's one parser, the
// constant-time check, PLAIN messages, the -Y login parser, and both gates
// on an exec::Connection, however the bytes are cut.
#include "memcoro/exec/auth.hpp"

#include <string>

#include "exec_world.hpp"
#include "memcoro/protocol/ascii_login_parser.hpp"

using namespace memcoro;
using exec::AuthTable;
using namespace std::string_literals;

TEST_CASE("the credential file: user:password lines, malformed without a colon") {
  struct Row {
    std::string text;
    AuthTable::Format format;
    bool valid;
    std::string user, password;  // an entry that must be there
  };
  const Row rows[] = {
      {.text = "alice:secret\n",
       .format = AuthTable::Format::auth_file,
       .valid = true,
       .user = "alice",
       .password = "secret"},
      {.text = "alice:secret\r\nbob:x\r\n",
       .format = AuthTable::Format::auth_file,
       .valid = true,
       .user = "bob",
       .password = "x"},
      {.text = "alice:se:cret",
       .format = AuthTable::Format::auth_file,
       .valid = true,
       .user = "alice",
       .password = "se:cret"},
      {.text = "alice:se:cret",
       .format = AuthTable::Format::pwdb,
       .valid = true,
       .user = "alice",
       .password = "se"},
      {.text = "alice:secret\n\n",
       .format = AuthTable::Format::auth_file,
       .valid = false,
       .user = "",
       .password = ""},
      {.text = "nocolon\n",
       .format = AuthTable::Format::pwdb,
       .valid = false,
       .user = "",
       .password = ""},
      {.text = "",
       .format = AuthTable::Format::auth_file,
       .valid = true,
       .user = "",
       .password = ""},
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    const auto table = AuthTable::parse(row.text, row.format);
    REQUIRE((table != nullptr) == row.valid);
    if (table == nullptr || row.user.empty()) continue;
    CHECK(table->check(row.user, row.password));
    CHECK_FALSE(table->check(row.user, row.password + "x"));
    CHECK_FALSE(table->check(row.user, row.password.substr(1)));
    CHECK_FALSE(table->check(row.user + "x", row.password));
  }
  // More than memcached's 8 entries are all read.
  std::string many;
  for (int i = 0; i < 20; ++i) many += "u" + std::to_string(i) + ":p" + std::to_string(i) + "\n";
  CHECK(AuthTable::parse(many, AuthTable::Format::auth_file)->check("u19", "p19"));
}

TEST_CASE("PLAIN messages: [authzid] NUL user NUL password") {
  std::string_view user;
  std::string_view password;
  const std::string message = "\0alice\0secret"s;  // (the views point into it)
  CHECK(exec::parse_plain(message, user, password));
  CHECK((user == "alice" && password == "secret"));
  CHECK(exec::parse_plain("alice\0alice\0secret"s, user, password));
  CHECK_FALSE(exec::parse_plain("bob\0alice\0secret"s, user, password));
  CHECK_FALSE(exec::parse_plain("alice\0secret"s, user, password));
  CHECK_FALSE(exec::parse_plain("alicesecret", user, password));
  CHECK_FALSE(exec::parse_plain("\0\0secret"s, user, password));
}

TEST_CASE("the -Y login parser: login, refusals, waiting, closing") {
  using protocol::ParseStatus;
  struct Row {
    std::string in;
    ParseStatus status;
    std::string_view error = {};
  };
  const Row rows[] = {
      {.in = "set k 0 0 12\r\nalice secret\r\n", .status = ParseStatus::complete},
      {.in = "set k 0 0 12\r\nalice secr", .status = ParseStatus::need_more},
      {.in = "set k 0 0 +12\nalice secret\r\n", .status = ParseStatus::complete},
      {.in = "version\r\n", .status = ParseStatus::error, .error = "CLIENT_ERROR unauthenticated"},
      {.in = "set k 0 0 -1\r\n",
       .status = ParseStatus::error,
       .error = "CLIENT_ERROR unauthenticated"},
      {.in = "set k 0 0 12\r\nalice secretXX",
       .status = ParseStatus::error,
       .error = "CLIENT_ERROR bad command line termination"},
      {.in = "set k 0 0 5\r\nalice\r\n",
       .status = ParseStatus::error,
       .error = "CLIENT_ERROR bad authentication token format"},
      {.in = "set k 0 0 2000000\r\n",
       .status = ParseStatus::error,
       .error = "CLIENT_ERROR bad authentication token format"},
      {.in = "\n", .status = ParseStatus::need_more},
      {.in = std::string(2048, 'x'), .status = ParseStatus::need_more},
      {.in = std::string(2049, 'x'), .status = ParseStatus::close},
  };
  for (const Row& row : rows) {
    CAPTURE(row.in);
    protocol::Command cmd;
    const protocol::ParseResult r = protocol::parse_ascii_login(row.in, cmd);
    CHECK(r.status == row.status);
    CHECK(r.error == row.error);
    if (r.status == ParseStatus::complete) {
      CHECK((cmd.key == "alice" && cmd.data == "secret"));
      CHECK(r.consumed == row.in.size());
    }
  }
}

namespace {

struct Gate : test::ExecWorld {
  exec::Auth auth{exec::Binding::auto_detect, nullptr, nullptr};
  explicit Gate(bool sasl)
      : auth(sasl ? exec::Binding::binary : exec::Binding::ascii,
             sasl ? AuthTable::parse("alice:secret\n", AuthTable::Format::pwdb) : nullptr,
             sasl ? nullptr : AuthTable::parse("alice:secret\n", AuthTable::Format::auth_file)) {
    ctx.auth = &auth;
  }
};

std::string bin(std::uint8_t op, std::string_view key, std::string_view value) {
  std::string h(24, '\0');
  h[0] = '\x80';
  h[1] = static_cast<char>(op);
  h[3] = static_cast<char>(key.size());
  h[11] = static_cast<char>(key.size() + value.size());
  return h + std::string(key) + std::string(value);
}

}  // namespace

TEST_CASE("the -Y gate: refused until the login, then a text connection, however cut") {
  Gate g(false);
  const std::string in =
      "get k\r\nmn\r\nset k 0 0 10\r\nalice nope\r\nset k 0 0 12\r\nalice secret\r\n"
      "set k 0 0 1\r\nv\r\nget k\r\n";
  const std::string want =
      "CLIENT_ERROR unauthenticated\r\nCLIENT_ERROR unauthenticated\r\n"
      "CLIENT_ERROR authentication failure\r\nSTORED\r\nSTORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n";
  for (std::size_t chunk : {in.size(), std::size_t{1}, std::size_t{5}}) {
    g.store.flush_all(0);
    const auto r = g.feed(in, chunk);
    CHECK(r.replies == want);
    CHECK_FALSE(r.closed);
  }
  CHECK(g.counters.auth_cmds.v.load() == 6);
  CHECK(g.counters.auth_errors.v.load() == 3);
}

TEST_CASE("the -S gate: VERSION and SASL run, anything else closes, until PLAIN succeeds") {
  Gate g(true);
  const std::string login = bin(0x21, "PLAIN", "\0alice\0secret"s);
  // Unauthenticated: a SET whose value has not arrived is refused at once.
  auto r = g.feed(bin(0x01, "k", std::string(8, '\0')).substr(0, 30), 30);
  CHECK(r.closed);
  CHECK(r.replies.substr(24) == "Auth failure.");
  r = g.feed(bin(0x0b, "", "") + bin(0x21, "PLAIN", "\0alice\0bad"s) + login + bin(0x00, "k", ""),
             7);
  CHECK_FALSE(r.closed);
  CHECK(r.replies.find("Authenticated") != std::string::npos);
  CHECK(r.replies.find("Not found") != std::string::npos);
  // Text is read as binary under -S: 24 bytes of it close the connection.
  r = g.feed("get kkkkkkkkkkkkkkkkkkkkkkkkk\r\n", 100);
  CHECK((r.closed && r.replies.empty()));
}
