// The `listen` setting (memcached's -l) parsed into addresses and ports.
#include <charconv>

#include "host_list.hpp"
#include "memcoro/config/settings.hpp"

namespace memcoro::config {
namespace {

bool parse_port(std::string_view t, std::uint16_t& out) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc{} || p != t.data() + t.size() || v > 65535) return false;
  out = static_cast<std::uint16_t>(v);
  return true;
}

// "ADDR", "ADDR:PORT", "[V6]", "[V6]:PORT"; an address with several colons
// and no brackets is an IPv6 address without a port.
std::string parse_entry(std::string_view e, std::uint16_t port, ListenAddress& out) {
  const std::string what = "listen: '" + std::string(e) + "' ";
  out.port = port;
  if (e.front() == '[') {
    const std::size_t close = e.find(']');
    if (close == e.npos || close == 1) return what + "has no address in brackets";
    out.host = std::string(e.substr(1, close - 1));
    const std::string_view rest = e.substr(close + 1);
    if (rest.empty()) return {};
    if (rest.front() != ':' || !parse_port(rest.substr(1), out.port))
      return what + "has a bad port";
    out.own_port = true;
    return {};
  }
  const std::size_t colon = e.find(':');
  if (colon == e.npos || e.find(':', colon + 1) != e.npos) {
    out.host = std::string(e);
    return {};
  }
  out.host = std::string(e.substr(0, colon));
  if (out.host.empty()) return what + "has no address";
  if (!parse_port(e.substr(colon + 1), out.port)) return what + "has a bad port";
  out.own_port = true;
  return {};
}

}  // namespace

std::string listen_addresses(const Settings& s, std::vector<ListenAddress>& out) {
  out.clear();
  for (const std::string& e : split_commas(s.listen)) {
    ListenAddress a;
    std::string_view entry = e;
    if (entry.starts_with("notls:")) {  // memcached's: a plain listener beside TLS ones
      entry.remove_prefix(6);
      a.tls = false;
      if (entry.empty()) return "listen: '" + e + "' has no address";
    }
    if (std::string err = parse_entry(entry, s.port, a); !err.empty()) return err;
    out.push_back(std::move(a));
  }
  if (out.empty()) return "listen: no address";
  return {};
}

}  // namespace memcoro::config
