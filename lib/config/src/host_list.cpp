#include "host_list.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace memcoro::config {
namespace {

std::string check_host(std::string host, std::string& out) {
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string what = "admin_allowed_hosts: '" + host + "' ";
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  if (host.empty()) return "admin_allowed_hosts: empty host";
  if (bracketed || host.find(':') != std::string::npos) {
    unsigned char addr[16];
    if (inet_pton(AF_INET6, host.c_str(), addr) != 1) {
      return what + "is not an IPv6 address (give hosts without a port)";
    }
  } else {
    const bool name_chars = std::all_of(host.begin(), host.end(), [](unsigned char c) {
      return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.';
    });
    // A wildcard would let any rebound DNS name in, which is what the list guards against.
    if (!name_chars) return what + "is not a host name or address (no ports, no wildcards)";
  }
  if (host.size() > 1 && host.back() == '.') host.pop_back();  // "a.example." is "a.example"
  out = std::move(host);
  return {};
}

}  // namespace

std::string parse_host_list(const std::vector<std::string>& items, std::vector<std::string>& out) {
  std::vector<std::string> hosts;
  for (const std::string& item : items) {
    std::string host;
    if (std::string e = check_host(item, host); !e.empty()) return e;
    hosts.push_back(std::move(host));
  }
  out = std::move(hosts);
  return {};
}

std::vector<std::string> split_commas(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return items;
}

}  // namespace memcoro::config
