#include <cstdio>

#include "memcoro/stats/sink.hpp"

namespace memcoro::stats {

void TextSink::add(std::string_view name, const Value& value, Label label) {
  std::string& o = out_;
  o += "STAT ";
  if (label.group == Group::item_class) o += "items:";
  if (label.group != Group::none) {
    o += std::to_string(label.id);
    o += ':';
  }
  o += name;
  o += ' ';
  if (auto* u = std::get_if<std::uint64_t>(&value)) {
    o += std::to_string(*u);
  } else if (auto* i = std::get_if<std::int64_t>(&value)) {
    o += std::to_string(*i);
  } else if (auto* d = std::get_if<double>(&value)) {
    // memcached's resolution: microseconds.
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f", *d);
    o += buf;
  } else {
    o += std::get<std::string_view>(value);
  }
  o += "\r\n";
}

}  // namespace memcoro::stats
