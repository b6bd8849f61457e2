#include "memcoro/protocol/numbers.hpp"

#include <charconv>

namespace memcoro::protocol {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

struct Parsed {
  bool negative;
  std::uint64_t magnitude;
};

// Returns nullopt for anything strtoull would not accept in full: no digits,
// overflow, or a character after the digits that is not whitespace.
std::optional<Parsed> parse_digits(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  std::uint64_t v = 0;
  const char* first = s.data() + i;
  const char* last = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec != std::errc{} || ptr == first) return std::nullopt;
  if (ptr != last && !is_space(*ptr)) return std::nullopt;
  return Parsed{negative, v};
}

}  // namespace

std::optional<std::uint64_t> parse_u64(std::string_view token) {
  auto p = parse_digits(token);
  if (!p) return std::nullopt;
  // strtoull negates "-N"; memcached rejects the result when it looks
  // negative. "-0" stays 0.
  if (p->negative && p->magnitude != 0) return std::nullopt;
  return p->magnitude;
}

std::optional<std::uint32_t> parse_u32(std::string_view token) {
  auto v = parse_u64(token);
  if (!v || *v > UINT32_MAX) return std::nullopt;
  return static_cast<std::uint32_t>(*v);
}

std::optional<std::int32_t> parse_i32(std::string_view token) {
  auto p = parse_digits(token);
  if (!p) return std::nullopt;
  if (p->negative) {
    if (p->magnitude > static_cast<std::uint64_t>(INT32_MAX) + 1) return std::nullopt;
    return static_cast<std::int32_t>(-static_cast<std::int64_t>(p->magnitude));
  }
  if (p->magnitude > static_cast<std::uint64_t>(INT32_MAX)) return std::nullopt;
  return static_cast<std::int32_t>(p->magnitude);
}

char* format_u64(std::uint64_t v, char* out) {
  return std::to_chars(out, out + 20, v).ptr;
}

}  // namespace memcoro::protocol
