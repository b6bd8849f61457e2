#pragma once
// admin_allowed_hosts: the host names and addresses, besides loopback ones,
// that the admin port accepts in a request's Host header.
#include <string>
#include <string_view>
#include <vector>

namespace memcoro::config {

// Checks and normalizes a list of hosts: each a DNS name (letters, digits,
// '-', '_', '.') or an IPv4/IPv6 address (brackets optional), no port, no
// wildcard; lowercased, IPv6 without brackets. Returns "" or an error.
std::string parse_host_list(const std::vector<std::string>& items, std::vector<std::string>& out);

// "a, b,c" -> {"a", "b", "c"} (spaces trimmed, empty items dropped).
std::vector<std::string> split_commas(std::string_view text);

}  // namespace memcoro::config
