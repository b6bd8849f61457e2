#pragma once
// The admin port's JSON view of one report: memcached's field names, numbers
// as JSON numbers.
#include <memory>
#include <string>

#include "memcoro/stats/sink.hpp"

namespace memcoro::stats {

class JsonSink final : public Sink {
 public:
  // flat: {"name": value, ...} (general, settings, sizes).
  // classes: as flat, plus {"classes": {"<id>": {"name": value}}} for the
  //   per-class stats, present (maybe empty) (slabs, items).
  // connections: {"curr_connections": <clients>, "connections": [{"fd": <fd>,
  //   "name": value, ...}]}, the listening socket included (conns).
  enum class Shape : unsigned char { flat, classes, connections };

  explicit JsonSink(Shape shape);
  ~JsonSink() override;
  JsonSink(const JsonSink&) = delete;
  JsonSink& operator=(const JsonSink&) = delete;

  void add(std::string_view name, const Value& value, Label label = {}) override;
  // Indented by two spaces, no final newline.
  std::string dump() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace memcoro::stats
