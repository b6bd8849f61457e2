// The log lines, in memcached's words: `watch`'s stream names, keys
// URI-encoded as memcached encodes them, and the peer of a connection.
#include "lines.hpp"

#include <sys/time.h>

#include <charconv>
#include <cstdio>

#include "memcoro/log/logger.hpp"

namespace memcoro::log {

std::uint32_t parse_streams(std::span<const std::string_view> names) {
  static constexpr struct {
    std::string_view name;
    Stream stream;
  } kNames[] = {
      {"rawcmds", kRawCmds},     {"evictions", kEvictions},     {"fetchers", kFetchers},
      {"mutations", kMutations}, {"sysevents", kSysEvents},     {"connevents", kConnEvents},
      {"proxyreqs", kProxyReqs}, {"proxyevents", kProxyEvents}, {"proxyuser", kProxyUser}};
  if (names.empty()) return kFetchers;
  std::uint32_t streams = 0;
  for (std::string_view n : names) {
    std::uint32_t bit = 0;
    for (const auto& k : kNames) {
      if (k.name == n) bit = k.stream;
    }
    if (bit == 0) return 0;
    streams |= bit;
  }
  return streams;
}

Peer parse_peer(std::string_view d) {
  Peer p;
  if (d.starts_with("unix:") || d.empty()) {
    p.ip = "unix";
    p.transport = Transport::local;
    return p;
  }
  const std::size_t colon = d.find(':');
  const std::size_t last = d.rfind(':');
  if (colon == std::string_view::npos || last == colon) return p;
  if (d.substr(0, colon) == "udp") p.transport = Transport::udp;
  std::string_view ip = d.substr(colon + 1, last - colon - 1);
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  p.ip = ip;
  const std::string_view port = d.substr(last + 1);
  std::from_chars(port.data(), port.data() + port.size(), p.port);
  return p;
}

std::string describe_tcp(std::string_view address, std::uint16_t port) {
  const bool v6 = address.find(':') != std::string_view::npos;
  std::string out = v6 ? "tcp6:[" : "tcp:";
  out.append(address).append(v6 ? "]:" : ":").append(std::to_string(port));
  return out;
}

std::string_view uri_encode(std::string_view key, std::span<char> out) {
  // memcached keeps letters, digits and -._~ and writes every other byte as %XX.
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::size_t n = 0;
  for (const char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (n + 3 > out.size()) break;
    if (keep) {
      out[n++] = ch;
    } else {
      out[n++] = '%';
      out[n++] = kHex[c >> 4];
      out[n++] = kHex[c & 15];
    }
  }
  return {out.data(), n};
}

std::size_t stamp(char* buf, std::size_t size, std::uint64_t gid) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  // memcached prints the microseconds with %d: not zero-padded.
  const int n = std::snprintf(buf, size, "ts=%lld.%d gid=%llu ", static_cast<long long>(tv.tv_sec),
                              static_cast<int>(tv.tv_usec), static_cast<unsigned long long>(gid));
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

}  // namespace memcoro::log
