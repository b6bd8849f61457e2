#pragma once
// Where stats go. Every producer (the general report, the store's views,
// the server's settings and connections) emits each stat once, as (name,
// value, label), into a Sink, as memcached's producers call ADD_STAT; the
// sink alone decides the format. TextSink writes memcached's `STAT` lines;
// JsonSink and PrometheusSink (json_sink.hpp, prometheus_sink.hpp) serve
// the admin port.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace memcoro::stats {

// A value as its producer has it. Text (settings, addresses) is only read
// during the add() call.
using Value = std::variant<std::uint64_t, std::int64_t, double, std::string_view>;

// What a stat belongs to below the whole process. memcached writes this
// into the name: "<class>:<name>" (`stats slabs`), "items:<class>:<name>"
// (`stats items`), "<fd>:<name>" (`stats conns`).
enum class Group : unsigned char { none, slab_class, item_class, connection };

struct Label {
  Group group = Group::none;
  std::uint64_t id = 0;  // the class id or the descriptor
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void add(std::string_view name, const Value& value, Label label = {}) = 0;
};

// A stat's name as memcached writes it ("<class>:<name>", ...) and its
// value as text, appended to `o`: TextSink's and the binary protocol's.
void append_name(std::string& o, std::string_view name, Label label);
void append_value(std::string& o, const Value& value);

// memcached's text: "STAT <name> <value>\r\n" per stat, appended to `out`;
// the caller ends the reply ("END\r\n").
class TextSink final : public Sink {
 public:
  explicit TextSink(std::string& out) : out_(out) {}
  void add(std::string_view name, const Value& value, Label label = {}) override;

 private:
  std::string& out_;
};

}  // namespace memcoro::stats
