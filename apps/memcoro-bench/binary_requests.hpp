#pragma once
// memcached's binary protocol as memcoro-bench speaks it: GET and SET one at
// a time, or quiet batches (GETKQ and SETQ, ended by NOOP) in which only hits
// and failures answer. Requests are appended to a string; replies are counted
// without being built, as client::scan_reply does for text and meta.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "memcoro/client/reply_scanner.hpp"

namespace memcoro::bench::binary {

enum Opcode : std::uint8_t { get = 0x00, set = 0x01, noop = 0x0a, setq = 0x11, getkq = 0x0d };
constexpr std::size_t header_size = 24;

inline void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

inline void write_header(std::string& out, Opcode op, std::size_t key, std::size_t extras,
                         std::size_t body) {
  out += static_cast<char>(0x80);  // request magic
  out += static_cast<char>(op);
  put_be(out, key, 2);
  put_be(out, extras, 1);
  put_be(out, 0, 1);     // data type
  put_be(out, 0, 2);     // vbucket
  put_be(out, body, 4);  // total body
  put_be(out, 0, 4);     // opaque
  put_be(out, 0, 8);     // cas
}

inline void write_get(std::string& out, std::string_view key, bool quiet) {
  write_header(out, quiet ? getkq : get, key.size(), 0, key.size());
  out += key;
}

inline void write_set(std::string& out, std::string_view key, std::string_view value,
                      std::uint32_t ttl, bool quiet) {
  write_header(out, quiet ? setq : set, key.size(), 8, 8 + key.size() + value.size());
  put_be(out, 0, 4);  // flags
  put_be(out, ttl, 4);
  out += key;
  out += value;
}

inline void write_noop(std::string& out) {
  write_header(out, noop, 0, 0, 0);
}

// The bytes the first reply in `in` takes (0: not complete yet) and what it
// said; `end` is set when it answers the NOOP that closes a quiet batch.
inline std::size_t scan_reply(std::string_view in, client::ReplyCount& count, bool& end) {
  if (in.size() < header_size) return 0;
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(in[i]); };
  const std::size_t body =
      (std::size_t{byte(8)} << 24) | (byte(9) << 16) | (byte(10) << 8) | byte(11);
  if (in.size() < header_size + body) return 0;
  const std::uint16_t status = static_cast<std::uint16_t>((byte(6) << 8) | byte(7));
  const std::uint8_t op = byte(1);
  end = op == noop;
  if (byte(0) != 0x81) {
    count.error = true;
  } else if (op == get || op == getkq) {
    if (status == 0)
      ++count.hits;
    else if (status == 1)
      ++count.misses;
    else
      count.error = true;
  } else if (status != 0) {
    count.error = true;
  }
  return header_size + body;
}

}  // namespace memcoro::bench::binary
