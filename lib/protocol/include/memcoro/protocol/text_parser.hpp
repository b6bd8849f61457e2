#pragma once
// Incremental parser for memcached's text protocol.
//
// parse_text() looks at the bytes received so far and reports one of:
//   complete  - one request is in `cmd`; drop `consumed` bytes afterwards
//               (and then `swallow` more, for a too-large data block);
//   need_more - no complete request yet; `need` is the total number of bytes
//               the request needs when that is known (a data block), else 0;
//   error     - reply `error` (unless `silent`), drop `consumed` bytes and go on;
//   close     - close the connection without a reply (memcached does this
//               for a line that is too long, and for an HTTP request line).
// The parser is pure: no I/O, no storage, and no allocation once `cmd.args`
// has grown to the most arguments seen (multi-get keys stay in the line).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "memcoro/protocol/command.hpp"

namespace memcoro::protocol {

// memcached's limits, named.
inline constexpr std::size_t kMaxKeyLength = 250;
// More than this many bytes received without a '\n' closes the connection
// unless the line is a get/gets (memcached: "didn't have a '\n' in the first
// few k"). A longer line that arrives whole with its '\n' is parsed, as
// memcached does; non-get lines never need the buffer to grow past one read.
inline constexpr std::size_t kMaxCommandLine = 2048;

struct ParserLimits {
  // Declared data lengths above this (minus the "\r\n") are answered
  // "SERVER_ERROR object too large for cache" without buffering the block.
  std::size_t max_item_size = 1024 * 1024;
  // Longest get/gets line accepted (memcached has no bound; we do).
  std::size_t max_get_line = 2 * 1024 * 1024;
};

enum class ParseStatus : std::uint8_t { complete, need_more, error, close };

struct ParseResult {
  ParseStatus status = ParseStatus::need_more;
  bool silent = false;       // error under noreply: send nothing
  std::size_t consumed = 0;  // complete/error: bytes of this request
  std::size_t swallow = 0;   // complete: bytes still to discard after consumed
  std::size_t need = 0;      // need_more: total bytes needed, 0 if unknown
  // need_more for a storage command's data block: the line is parsed into
  // `cmd`, and the block (cmd.data_len + 2 bytes) starts at `consumed`.
  bool block = false;
  std::string_view error;  // error: reply line without "\r\n"
};

ParseResult parse_text(std::string_view in, Command& cmd, const ParserLimits& limits = {});

}  // namespace memcoro::protocol
