#include "memcoro/protocol/ascii_login_parser.hpp"

#include <cstdint>

namespace memcoro::protocol {
namespace {

constexpr std::string_view kUnauthenticated = "CLIENT_ERROR unauthenticated";
constexpr std::string_view kBadTermination = "CLIENT_ERROR bad command line termination";
constexpr std::string_view kBadFormat = "CLIENT_ERROR bad authentication token format";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// memcached's tokenize_command: the text up to its first NUL, split at
// spaces (runs of them make no empty tokens). Fills at most `max` tokens;
// returns how many there are, up to max + 1.
std::size_t tokens(std::string_view text, std::string_view* out, std::size_t max) {
  text = text.substr(0, text.find('\0'));
  std::size_t n = 0;
  std::size_t pos = 0;
  while (pos < text.size() && n <= max) {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    if (pos == text.size()) break;
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] != ' ') ++pos;
    if (n < max) out[n] = text.substr(start, pos - start);
    ++n;
  }
  return n;
}

// memcached's safe_strtoul into a uint32_t: strtoul's syntax (leading
// white space, a sign), ended by white space or the token's end, no
// negative number; kept modulo 2^32 as memcached keeps it.
bool login_length(std::string_view t, std::uint32_t& out) {
  std::size_t i = 0;
  while (i < t.size() && is_space(t[i])) ++i;
  bool negative = false;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) negative = t[i++] == '-';
  const std::size_t digits = i;
  std::uint64_t v = 0;
  for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) {
    const auto d = static_cast<std::uint64_t>(t[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;  // ERANGE
    v = v * 10 + d;
  }
  if (i == digits || (i < t.size() && !is_space(t[i]))) return false;
  if (negative) v = ~v + 1;  // strtoul negates
  if (negative && static_cast<std::int64_t>(v) < 0) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

ParseResult error(std::string_view text, std::size_t consumed, std::size_t swallow = 0) {
  return {.status = ParseStatus::error, .consumed = consumed, .swallow = swallow, .error = text};
}

}  // namespace

ParseResult parse_ascii_login(std::string_view in, Command& cmd) {
  ParseResult r;
  if (in.size() < 2) return r;  // no login is this short
  const std::size_t eol = in.find('\n');
  if (eol == std::string_view::npos) {
    if (in.size() > kMaxCommandLine) r.status = ParseStatus::close;
    return r;
  }
  std::string_view t[5];
  const std::size_t line_end = eol + 1;
  std::uint32_t len = 0;
  if (tokens(in.substr(0, eol), t, 5) < 5 || t[0] != "set" || !login_length(t[4], len)) {
    return error(kUnauthenticated, line_end);
  }
  const std::size_t block = std::size_t{len} + 2;
  if (len > kMaxLoginBlock) return error(kBadFormat, line_end, block);
  if (in.size() < line_end + block) {
    r.need = line_end + block;
    return r;
  }
  const std::string_view data = in.substr(line_end, block);
  const std::size_t total = line_end + block;
  if (data.substr(len) != "\r\n") return error(kBadTermination, total);
  std::string_view creds[2];
  if (tokens(data.substr(0, len), creds, 2) < 2) return error(kBadFormat, total);
  cmd.type = CommandType::ascii_login;
  cmd.binary = false;
  cmd.noreply = false;
  cmd.key = creds[0];
  cmd.data = creds[1];
  r.status = ParseStatus::complete;
  r.consumed = total;
  return r;
}

}  // namespace memcoro::protocol
