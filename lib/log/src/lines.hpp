#pragma once
// Pieces of a log line (lines.cpp), for logger.cpp.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace memcoro::log {

// A key as memcached prints it in a log line; out needs 3 bytes per key byte.
std::string_view uri_encode(std::string_view key, std::span<char> out);
// "ts=SEC.USEC gid=N " into buf; its length.
std::size_t stamp(char* buf, std::size_t size, std::uint64_t gid);

}  // namespace memcoro::log
