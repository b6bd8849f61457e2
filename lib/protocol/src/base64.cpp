#include "memcoro/protocol/base64.hpp"

#include <array>
#include <cstdint>

namespace memcoro::protocol {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint8_t kSkip = 0xff;

// Sextet per byte; '=' decodes as 0 (it is padding), the rest is skipped.
constexpr std::array<std::uint8_t, 256> kDecode = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(kSkip);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  t['='] = 0;
  return t;
}();

}  // namespace

bool decode_key_base64(std::string_view in, std::string& out) {
  std::size_t count = 0;
  for (char ch : in) count += kDecode[static_cast<unsigned char>(ch)] != kSkip ? 1 : 0;
  if (count == 0 || count % 4 != 0) return false;
  out.clear();
  std::uint8_t group[4];
  std::size_t filled = 0;
  unsigned pad = 0;
  for (char ch : in) {
    const std::uint8_t v = kDecode[static_cast<unsigned char>(ch)];
    if (v == kSkip) continue;
    if (ch == '=') ++pad;
    group[filled++] = v;
    if (filled < 4) continue;
    filled = 0;
    out.push_back(static_cast<char>((group[0] << 2) | (group[1] >> 4)));
    out.push_back(static_cast<char>((group[1] << 4) | (group[2] >> 2)));
    out.push_back(static_cast<char>((group[2] << 6) | group[3]));
    if (pad == 0) continue;
    if (pad > 2) return false;
    out.resize(out.size() - pad);
    break;  // the first padded group ends the key
  }
  return !out.empty();
}

}  // namespace memcoro::protocol
