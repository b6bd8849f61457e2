#pragma once
// A parsed client request. The parser fills one Command per request; string
// views point into the connection's read buffer and stay valid until the
// caller consumes the bytes the parse reported.
#include <cstdint>
#include <string>
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
  shutdown,  // args: the mode (none, or graceful)
  refresh_certs,
  quit,
  stats,
  meta_noop,        // mn
  meta_get,         // mg
  meta_set,         // ms
  meta_delete,      // md
  meta_arithmetic,  // ma
  meta_debug,       // me
  slabs,            // slabs reassign|automove ...
  cache_memlimit,   // cache_memlimit <MB> [noreply]
  lru_crawler,      // lru_crawler crawl|metadump|enable|disable|tocrawl|sleep ...
  lru,              // lru tune|mode|temp_ttl ...
  watch,            // args: the log streams to watch (none: fetchers)
  // The requests that authenticate a connection: binary SASL (key = the
  // mechanism, data = its bytes) and the -Y login (key = user, data =
  // password; ascii_login_parser.hpp).
  sasl_list_mechs,
  sasl_auth,
  sasl_step,
  ascii_login,
};

// True for the commands that carry a data block after the command line.
constexpr bool is_storage(CommandType t) {
  return t >= CommandType::set && t <= CommandType::cas;
}

// The flags of a meta command (mg ms md ma), as parsed. Flags that return
// something are kept in `order`, as the client sent them, because replies
// list them in that order.
struct MetaFlags {
  bool base64 = false;        // b: the key is base64
  bool value = false;         // v
  bool quiet = false;         // q
  bool no_bump = false;       // u
  bool invalidate = false;    // I
  bool remove_value = false;  // x (md, after memcached 1.6.18)
  bool has_ttl = false;       // T
  bool has_vivify = false;    // N
  bool has_recache = false;   // R
  bool has_cas = false;       // C
  bool has_new_cas = false;   // E (after memcached 1.6.18)
  char mode = 0;              // M
  std::int32_t ttl = 0;
  std::int32_t vivify_ttl = 0;
  std::int32_t recache_ttl = 0;
  std::uint32_t client_flags = 0;  // F (0 without it)
  std::uint64_t cas = 0;
  std::uint64_t new_cas = 0;
  std::uint64_t delta = 1;    // D
  std::uint64_t initial = 0;  // J
  std::string_view opaque;    // O token, with its 'O'
  char order[24] = {};        // flag letters in request order
  std::uint8_t count = 0;
};

// The header fields of a binary-protocol request that its reply echoes or
// that have no text counterpart (binary_parser.hpp).
struct BinaryRequest {
  std::uint8_t opcode = 0;  // as sent: a quiet variant stays quiet in the reply
  bool quiet = false;       // ...Q: success (for gets: a miss) is not answered
  bool with_key = false;    // GETK, GETKQ, GATK, GATKQ: the reply carries the key
  bool vivify = false;      // incr/decr: create a missing item (exptime != 0xffffffff)
  // Not 0: the parser refused the request with this status; the reply is
  // that error, then the connection closes if close_after.
  std::uint16_t error = 0;
  bool close_after = false;
  std::uint32_t opaque = 0;
  std::uint64_t cas = 0;
  std::uint64_t initial = 0;  // incr/decr
};

struct Command {
  CommandType type = CommandType::get;
  bool binary = false;  // parsed by parse_binary(); `bin` holds its header
  bool noreply = false;
  // Storage command whose declared length exceeds the item size limit: the
  // data block is not buffered (the connection discards it) and the command
  // must be answered "SERVER_ERROR object too large for cache".
  bool too_large = false;
  // flush_all: a delay was given, and what it was.
  bool has_delay = false;
  std::int64_t delay = 0;
  std::uint32_t level = 0;  // verbosity
  std::uint32_t flags = 0;
  // exptime as the client sent it (relative, absolute or negative): storage
  // commands, touch, gat/gats.
  std::int64_t exptime = 0;
  std::uint64_t cas_unique = 0;  // cas
  std::uint64_t delta = 0;       // incr/decr
  std::string_view key;          // single-key commands
  std::string_view data;         // storage commands: the value, no "\r\n"
  std::uint32_t data_len = 0;    // declared length (also when too_large)
  // get/gets/gat/gats: the keys as sent, split with next_key() while they
  // are looked up: a 2 MB line of one-byte keys must not become a vector of
  // a million views.
  std::string_view key_list;
  // stats, slabs, cache_memlimit, lru_crawler, lru:
  // the arguments after the command name.
  // Reused across commands so that parsing does not allocate once warm.
  std::vector<std::string_view> args;
  MetaFlags meta;
  // A base64 key (meta flag b) decoded; `key` then points here.
  std::string key_buffer;
  BinaryRequest bin;
};

// The next space-separated key of `list` at or after `pos`, which moves
// past it; empty when no key is left.
inline std::string_view next_key(std::string_view list, std::size_t& pos) {
  while (pos < list.size() && list[pos] == ' ') ++pos;
  const std::size_t start = pos;
  while (pos < list.size() && list[pos] != ' ') ++pos;
  return list.substr(start, pos - start);
}

}  // namespace memcoro::protocol
