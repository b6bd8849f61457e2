#pragma once
// Number parsing with the acceptance rules of memcached's safe_strto*()
// (strtol-style: leading whitespace, optional sign, decimal digits, then the
// end of the token or a whitespace character), except that values that do
// not fit the field are rejected instead of being silently truncated.
#include <cstdint>
#include <optional>
#include <string_view>

namespace memcoro::protocol {

std::optional<std::uint64_t> parse_u64(std::string_view token);
std::optional<std::uint32_t> parse_u32(std::string_view token);
std::optional<std::int32_t> parse_i32(std::string_view token);

// Writes the decimal form of v at out (at least 20 bytes); returns the end.
char* format_u64(std::uint64_t v, char* out);

}  // namespace memcoro::protocol
