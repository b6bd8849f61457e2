#include "memcoro/protocol/binary_parser.hpp"

namespace memcoro::protocol {
namespace binary {

std::string_view status_text(std::uint16_t status) {
  switch (status) {
    case not_found: return "Not found";
    case exists: return "Data exists for key.";
    case too_large: return "Too large.";
    case invalid: return "Invalid arguments";
    case not_stored: return "Not stored.";
    case non_numeric: return "Non-numeric server-side value for incr or decr";
    case auth_error: return "Auth failure.";
    case no_memory: return "Out of memory";
    default: return "Unknown command";
  }
}

}  // namespace binary

namespace {

using namespace binary;

std::uint16_t be16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint16_t>(u[0] << 8 | u[1]);
}

std::uint32_t be32(const char* p) {
  return std::uint32_t{be16(p)} << 16 | be16(p + 2);
}

std::uint64_t be64(const char* p) {
  return std::uint64_t{be32(p)} << 32 | be32(p + 4);
}

// What an opcode is, in text terms, and the shape memcached accepts for it.
struct Shape {
  CommandType type;
  bool quiet;
  bool with_key;
};

// A request memcached refuses: `status` in reply, then maybe a close.
ParseResult refused(Command& cmd, std::uint16_t status, bool close, std::size_t consumed,
                    std::size_t swallow) {
  cmd.bin.error = status;
  cmd.bin.close_after = close;
  ParseResult r;
  r.status = ParseStatus::complete;
  r.consumed = consumed;
  r.swallow = swallow;
  return r;
}

// Fills cmd from the opcode and its extras; false when the lengths are not
// a shape the opcode takes (memcached answers "Invalid arguments" and
// closes). `unknown`: an opcode memcached 1.6.18 does not serve.
bool shape(Command& cmd, std::uint8_t op, const char* extras, std::size_t extlen,
           std::size_t keylen, std::size_t bodylen, bool& unknown) {
  BinaryRequest& b = cmd.bin;
  const bool key_only = keylen > 0 && extlen == 0 && bodylen == keylen;
  const bool empty = keylen == 0 && extlen == 0 && bodylen == 0;
  switch (op) {
    case getq:
    case getkq: b.quiet = true; [[fallthrough]];
    case get:
    case getk:
      cmd.type = CommandType::get;
      b.with_key = op == getk || op == getkq;
      return key_only;
    case setq:
    case addq:
    case replaceq: b.quiet = true; [[fallthrough]];
    case set:
    case add:
    case replace: {
      const std::uint8_t loud = op & 0x0f;
      cmd.type = b.cas != 0        ? CommandType::cas
                 : loud == add     ? CommandType::add
                 : loud == replace ? CommandType::replace
                                   : CommandType::set;
      if (extlen != 8 || keylen == 0 || bodylen < keylen + 8) return false;
      cmd.flags = be32(extras);
      cmd.exptime = be32(extras + 4);
      return true;
    }
    case appendq:
    case prependq: b.quiet = true; [[fallthrough]];
    case append:
    case prepend:
      cmd.type = op == append || op == appendq ? CommandType::append : CommandType::prepend;
      return keylen > 0 && extlen == 0;
    case delq: b.quiet = true; [[fallthrough]];
    case del: cmd.type = CommandType::del; return key_only;
    case incrq:
    case decrq: b.quiet = true; [[fallthrough]];
    case incr:
    case decr: {
      cmd.type = op == incr || op == incrq ? CommandType::incr : CommandType::decr;
      if (keylen == 0 || extlen != 20 || bodylen != keylen + 20) return false;
      cmd.delta = be64(extras);
      b.initial = be64(extras + 8);
      const std::uint32_t exptime = be32(extras + 16);
      b.vivify = exptime != 0xffffffffu;
      cmd.exptime = b.vivify ? exptime : 0;
      return true;
    }
    case quitq: b.quiet = true; [[fallthrough]];
    case quit: cmd.type = CommandType::quit; return empty;
    case flushq: b.quiet = true; [[fallthrough]];
    case flush:
      cmd.type = CommandType::flush_all;
      if (keylen != 0 || bodylen != extlen || (extlen != 0 && extlen != 4)) return false;
      cmd.has_delay = extlen == 4;
      cmd.delay = cmd.has_delay ? be32(extras) : 0;
      return true;
    case noop: cmd.type = CommandType::meta_noop; return empty;
    case version: cmd.type = CommandType::version; return empty;
    case stat: cmd.type = CommandType::stats; return extlen == 0;
    case gatq:
    case gatkq: b.quiet = true; [[fallthrough]];
    case touch:
    case gat:
    case gatk:
      cmd.type = op == touch ? CommandType::touch : CommandType::gat;
      b.with_key = op == gatk || op == gatkq;
      if (extlen != 4 || keylen == 0) return false;
      cmd.exptime = be32(extras);
      return true;
    // (Without -S, exec answers these "Unknown command", as memcached.)
    case sasl_list_mechs: cmd.type = CommandType::sasl_list_mechs; return empty;
    case sasl_auth:
    case sasl_step:
      cmd.type = op == sasl_auth ? CommandType::sasl_auth : CommandType::sasl_step;
      return extlen == 0 && keylen > 0;
    default:
      // VERBOSITY, TOUCHQ, anything newer.
      unknown = true;
      return true;
  }
}

}  // namespace

ParseResult parse_binary(std::string_view in, Command& cmd, const ParserLimits& limits) {
  ParseResult r;
  if (in.size() < kHeaderSize) {
    r.need = kHeaderSize;  // even after bad magic: memcached waits for a header
    return r;
  }
  const char* h = in.data();
  if (static_cast<std::uint8_t>(h[0]) != kRequestMagic) {
    r.status = ParseStatus::close;  // memcached closes without a word
    return r;
  }
  const std::uint8_t op = static_cast<std::uint8_t>(h[1]);
  const std::size_t keylen = be16(h + 2);
  const std::size_t extlen = static_cast<std::uint8_t>(h[4]);
  const std::size_t bodylen = be32(h + 8);
  cmd.binary = true;
  cmd.bin = BinaryRequest{};
  cmd.bin.opcode = op;
  cmd.bin.opaque = be32(h + 12);
  cmd.bin.cas = be64(h + 16);
  cmd.cas_unique = cmd.bin.cas;
  cmd.noreply = false;
  cmd.too_large = false;
  cmd.has_delay = false;
  cmd.flags = 0;
  cmd.exptime = 0;
  cmd.data = {};
  cmd.data_len = 0;
  cmd.args.clear();
  if (keylen > bodylen || keylen + extlen > bodylen) {
    return refused(cmd, unknown, true, kHeaderSize, 0);
  }
  // memcached reads the key before it looks at its length; a key that
  // cannot be one is refused at once instead of waited for.
  if (keylen > kMaxKeyLength) return refused(cmd, invalid, true, kHeaderSize, 0);
  const std::size_t head = kHeaderSize + extlen + keylen;
  if (in.size() < head) {
    r.need = head;
    return r;
  }
  cmd.key = in.substr(kHeaderSize + extlen, keylen);
  const std::size_t value_len = bodylen - extlen - keylen;
  bool unknown_op = false;
  if (!shape(cmd, op, h + kHeaderSize, extlen, keylen, bodylen, unknown_op)) {
    return refused(cmd, invalid, true, head, 0);
  }
  // memcached's quiet opcodes are the loud ones with noreply.
  cmd.noreply = cmd.bin.quiet;
  // memcached 1.6.18 swallows bodylen bytes after the extras and key here,
  // eating the start of the next request; this takes just the value.
  if (unknown_op) return refused(cmd, unknown, false, head, value_len);
  if (cmd.type == CommandType::stats) {
    if (keylen > 0) cmd.args.push_back(cmd.key);
  }
  const bool sasl_data = cmd.type == CommandType::sasl_auth || cmd.type == CommandType::sasl_step;
  if (!is_storage(cmd.type) && !sasl_data) {
    // Body bytes past the extras and key of the other opcodes (TOUCH, GAT,
    // STAT) are read as the next request, as memcached reads them.
    r.status = ParseStatus::complete;
    r.consumed = head;
    return r;
  }
  cmd.data_len = static_cast<std::uint32_t>(value_len);
  // (memcached reads SASL data into an item too.)
  if (value_len + 2 > limits.max_item_size) {  // stored with "\r\n", as text
    cmd.too_large = true;
    r.status = ParseStatus::complete;
    r.consumed = head;
    r.swallow = value_len;
    return r;
  }
  const std::size_t total = head + value_len;
  if (in.size() < total) {
    r.need = total;
    r.block = true;
    r.consumed = head;
    return r;
  }
  cmd.data = in.substr(head, value_len);
  r.status = ParseStatus::complete;
  r.consumed = total;
  return r;
}

}  // namespace memcoro::protocol
