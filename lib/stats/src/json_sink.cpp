#include "memcoro/stats/json_sink.hpp"

#include "json_value.hpp"

namespace memcoro::stats {

struct JsonSink::Impl {
  Shape shape;
  json out = json::object();
  json connections = json::array();
  std::uint64_t current_fd = 0;
  std::size_t clients = 0;
};

JsonSink::JsonSink(Shape shape) : impl_(std::make_unique<Impl>()) {
  impl_->shape = shape;
}

JsonSink::~JsonSink() = default;

void JsonSink::add(std::string_view name, const Value& value, Label label) {
  Impl& m = *impl_;
  switch (label.group) {
    case Group::none: m.out[std::string(name)] = json_of(value); break;
    case Group::slab_class:
    case Group::item_class:
      m.out["classes"][std::to_string(label.id)][std::string(name)] = json_of(value);
      break;
    case Group::connection:
      if (m.connections.empty() || label.id != m.current_fd) {
        m.current_fd = label.id;
        m.connections.push_back({{"fd", label.id}});
      }
      // Only a client's connection has the address it arrived on.
      if (name == "listen_addr") ++m.clients;
      m.connections.back()[std::string(name)] = json_of(value);
      break;
  }
}

std::string JsonSink::dump() const {
  const Impl& m = *impl_;
  if (m.shape == Shape::connections) {
    return json{{"curr_connections", m.clients}, {"connections", m.connections}}.dump(2);
  }
  if (m.shape == Shape::classes && !m.out.contains("classes")) {
    json out = m.out;
    out["classes"] = json::object();
    return out.dump(2);
  }
  return m.out.dump(2);
}

}  // namespace memcoro::stats
