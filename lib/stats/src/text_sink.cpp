#include <cstdio>

#include "memcoro/stats/sink.hpp"

namespace memcoro::stats {

void append_name(std::string& o, std::string_view name, Label label) {
  if (label.group == Group::item_class) o += "items:";
  if (label.group != Group::none) {
    o += std::to_string(label.id);
    o += ':';
  }
  o += name;
}

void append_value(std::string& o, const Value& value) {
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
}

void TextSink::add(std::string_view name, const Value& value, Label label) {
  out_ += "STAT ";
  append_name(out_, name, label);
  out_ += ' ';
  append_value(out_, value);
  out_ += "\r\n";
}

}  // namespace memcoro::stats
