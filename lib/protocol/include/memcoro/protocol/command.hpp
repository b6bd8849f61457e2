#pragma once
// A parsed client request. The parser fills one Command per request; string
// views point into the connection's read buffer and stay valid until the
// caller consumes the bytes the parse reported.
#include <cstdint>
#include <string_view>
#include <vector>

namespace memcoro::protocol {

enum class CommandType : std::uint8_t {
  get,
  gets,
  gat,
  gats,
  set,
  add,
  replace,
  append,
  prepend,
  cas,
  touch,
  del,
  incr,
  decr,
  flush_all,
  version,
  verbosity,
  quit,
  stats,
  meta_noop,       // mn
  slabs,           // slabs reassign|automove ...
  cache_memlimit,  // cache_memlimit <MB> [noreply]
  lru_crawler,     // lru_crawler crawl|metadump|enable|disable|tocrawl|sleep ...
};

// True for the commands that carry a data block after the command line.
constexpr bool is_storage(CommandType t) {
  return t >= CommandType::set && t <= CommandType::cas;
}

struct Command {
  CommandType type = CommandType::get;
  bool noreply = false;
  // Storage command whose declared length exceeds the item size limit: the
  // data block is not buffered (the connection discards it) and the command
  // must be answered "SERVER_ERROR object too large for cache".
  bool too_large = false;
  // flush_all: a delay was given.
  bool has_delay = false;
  std::uint32_t flags = 0;
  // exptime as the client sent it (relative, absolute or negative); gat/touch
  // put theirs here too, flush_all its delay, verbosity its level.
  std::int64_t exptime = 0;
  std::uint64_t cas_unique = 0;  // cas
  std::uint64_t delta = 0;       // incr/decr
  std::string_view key;          // single-key commands
  std::string_view data;         // storage commands: the value, no "\r\n"
  std::uint32_t data_len = 0;    // declared length (also when too_large)
  // get/gets/gat/gats: the keys. stats, slabs, cache_memlimit, lru_crawler:
  // the arguments after the command name.
  // Reused across commands so that parsing does not allocate once warm.
  std::vector<std::string_view> keys;
};

}  // namespace memcoro::protocol
