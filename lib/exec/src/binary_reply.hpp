#pragma once
// Writing binary-protocol response packets (binary.cpp, binary_stats.cpp).
#include <cstdint>
#include <string_view>

#include "memcoro/exec/output.hpp"
#include "memcoro/protocol/binary_parser.hpp"
#include "memcoro/protocol/command.hpp"

namespace memcoro::exec::binary {

// A response header for `cmd` (its opcode as sent, its opaque): the body
// (extras, key, value: `extlen` + `keylen` + `valuelen` bytes) follows.
void write_header(const protocol::Command& cmd, std::uint16_t status, std::size_t extlen,
                  std::size_t keylen, std::size_t valuelen, std::uint64_t cas, Output& out);
// A whole packet with a key and a value and no extras.
void write_packet(const protocol::Command& cmd, std::uint16_t status, std::string_view key,
                  std::string_view value, Output& out);
// An error: memcached's text for `status` as the body, CAS 0.
void write_error(const protocol::Command& cmd, std::uint16_t status, Output& out);

}  // namespace memcoro::exec::binary
