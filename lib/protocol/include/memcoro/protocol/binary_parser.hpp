#pragma once
// Incremental parser for memcached's binary protocol (24-byte header,
// then extras, key and value), with the same contract as parse_text():
//   complete  - one request is in `cmd` (cmd.binary set); drop `consumed`
//               bytes, then `swallow` more (a refused or too-large value);
//   need_more - `need` is the total number of bytes the request needs;
//               `block` when the header, extras and key are parsed and only
//               a storage (or SASL) request's value (cmd.data_len bytes, no "\r\n")
//               is still to come, starting at `consumed`;
//   close     - not a binary request (bad magic): close without a reply.
// A request memcached refuses (bad lengths, a key over 250 bytes, a shape
// its opcode does not take, an opcode it does not serve) comes back
// complete with cmd.bin.error set: its reply needs the header's opcode and
// opaque, so exec writes it (and closes when cmd.bin.close_after).
#include <cstdint>
#include <string_view>

#include "memcoro/protocol/command.hpp"
#include "memcoro/protocol/text_parser.hpp"

namespace memcoro::protocol {

namespace binary {

inline constexpr std::size_t kHeaderSize = 24;
inline constexpr std::uint8_t kRequestMagic = 0x80;
inline constexpr std::uint8_t kResponseMagic = 0x81;

// The opcodes memcached 1.6.18 serves (and the SASL ones, which it answers
// "Unknown command" without -S).
enum Opcode : std::uint8_t {
  get = 0x00,
  set = 0x01,
  add = 0x02,
  replace = 0x03,
  del = 0x04,
  incr = 0x05,
  decr = 0x06,
  quit = 0x07,
  flush = 0x08,
  getq = 0x09,
  noop = 0x0a,
  version = 0x0b,
  getk = 0x0c,
  getkq = 0x0d,
  append = 0x0e,
  prepend = 0x0f,
  stat = 0x10,
  setq = 0x11,
  addq = 0x12,
  replaceq = 0x13,
  delq = 0x14,
  incrq = 0x15,
  decrq = 0x16,
  quitq = 0x17,
  flushq = 0x18,
  appendq = 0x19,
  prependq = 0x1a,
  touch = 0x1c,
  gat = 0x1d,
  gatq = 0x1e,
  sasl_list_mechs = 0x20,
  sasl_auth = 0x21,
  sasl_step = 0x22,
  gatk = 0x23,
  gatkq = 0x24,
};

enum Status : std::uint16_t {
  ok = 0x00,
  not_found = 0x01,
  exists = 0x02,
  too_large = 0x03,
  invalid = 0x04,
  not_stored = 0x05,
  non_numeric = 0x06,
  auth_error = 0x20,
  auth_continue = 0x21,
  unknown = 0x81,
  no_memory = 0x82,
};

// memcached's body text for an error status.
std::string_view status_text(std::uint16_t status);

}  // namespace binary

ParseResult parse_binary(std::string_view in, Command& cmd, const ParserLimits& limits = {});

}  // namespace memcoro::protocol
