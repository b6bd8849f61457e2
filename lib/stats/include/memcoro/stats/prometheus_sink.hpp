#pragma once
// Prometheus exposition text with the names, help and labels of the
// Prometheus project's memcached_exporter. Add the general, `stats slabs`
// and `stats items` reports (in any order), then take text(): the families
// come out in the exporter's order, not the order the stats arrived in.
#include <memory>
#include <string>

#include "memcoro/stats/sink.hpp"

namespace memcoro::stats {

class PrometheusSink final : public Sink {
 public:
  PrometheusSink();
  ~PrometheusSink() override;
  PrometheusSink(const PrometheusSink&) = delete;
  PrometheusSink& operator=(const PrometheusSink&) = delete;

  void add(std::string_view name, const Value& value, Label label = {}) override;
  std::string text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace memcoro::stats
