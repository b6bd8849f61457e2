#pragma once
// A stat's value as JSON: the JSON and Prometheus sinks share it, so both
// show the digits that `stats` shows.
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "memcoro/stats/sink.hpp"

namespace memcoro::stats {

using json = nlohmann::ordered_json;

// Text that reads whole as a number is that number: settings and the like
// are text where they come from, and memcached clients read them as numbers.
inline json json_of_text(std::string_view v) {
  const char* end = v.data() + v.size();
  std::uint64_t u = 0;
  auto [p, ec] = std::from_chars(v.data(), end, u);
  if (!v.empty() && ec == std::errc{} && p == end) return u;
  std::int64_t i = 0;
  auto [p2, ec2] = std::from_chars(v.data(), end, i);
  if (!v.empty() && ec2 == std::errc{} && p2 == end) return i;
  double d = 0;
  auto [p3, ec3] = std::from_chars(v.data(), end, d);
  if (!v.empty() && ec3 == std::errc{} && p3 == end) return d;
  return std::string(v);
}

inline json json_of(const Value& value) {
  if (auto* u = std::get_if<std::uint64_t>(&value)) return *u;
  if (auto* i = std::get_if<std::int64_t>(&value)) {
    if (*i >= 0) return static_cast<std::uint64_t>(*i);
    return *i;
  }
  if (auto* d = std::get_if<double>(&value)) {
    // To the microsecond, as the text shows it.
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f", *d);
    return json_of_text(buf);
  }
  return json_of_text(std::get<std::string_view>(value));
}

}  // namespace memcoro::stats
