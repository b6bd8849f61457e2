#include "memcoro/admin/history.hpp"

#include <nlohmann/json.hpp>
#include <variant>

#include "memcoro/admin/admin.hpp"

namespace memcoro::admin {
namespace {

// The general report's numbers by name.
class NumberSink final : public stats::Sink {
 public:
  explicit NumberSink(std::unordered_map<std::string, double>& out) : out_(out) {}
  void add(std::string_view name, const stats::Value& value, stats::Label label) override {
    if (label.group != stats::Group::none) return;
    std::visit(
        [&](const auto& v) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(v)>, std::string_view>) {
            out_[std::string(name)] = static_cast<double>(v);
          }
        },
        value);
  }

 private:
  std::unordered_map<std::string, double>& out_;
};

std::optional<double> p99_us(const stats::LatencyHistogram& h) {
  std::uint64_t n = 0;
  for (std::uint64_t b : h.buckets) n += b;
  if (n == 0) return std::nullopt;
  return h.quantile(0.99) / 1000.0;
}

}  // namespace

void History::sample(Backend& backend, std::int64_t now, double elapsed) {
  std::unordered_map<std::string, double> cur;
  NumberSink sink(cur);
  backend.stats("", sink);
  const stats::LatencySnapshot latency = backend.latency();
  auto get = [&](const char* name) {
    auto it = cur.find(name);
    return it == cur.end() ? 0.0 : it->second;
  };
  Point p;
  p.t = now;
  p.bytes = get("bytes");
  p.limit_maxbytes = get("limit_maxbytes");
  p.curr_items = get("curr_items");
  p.curr_connections = get("curr_connections");
  std::lock_guard lock(mu_);
  if (have_previous_ && elapsed > 0) {
    // A counter that went down was reset (stats reset): no rate this time.
    auto rate = [&](std::initializer_list<const char*> names) {
      double now_sum = 0, before = 0;
      for (const char* n : names) {
        now_sum += get(n);
        auto it = previous_.find(n);
        before += it == previous_.end() ? 0 : it->second;
      }
      return now_sum >= before ? (now_sum - before) / elapsed : 0.0;
    };
    p.get = rate({"cmd_get"});
    p.set = rate({"cmd_set"});
    p.del = rate({"delete_hits", "delete_misses"});
    p.incr_decr = rate({"incr_hits", "incr_misses", "decr_hits", "decr_misses"});
    p.touch = rate({"cmd_touch"});
    p.evictions = rate({"evictions"});
    const double hits = rate({"get_hits"}), misses = rate({"get_misses"});
    if (hits + misses > 0) p.hit_ratio = hits / (hits + misses);
    stats::LatencySnapshot d = latency;
    bool reset = false;
    for (unsigned op = 0; op < stats::kLatencyOps; ++op) {
      reset |= d.ops[op].count < previous_latency_.ops[op].count;
    }
    if (!reset) {
      d -= previous_latency_;
      p.get_p99_us = p99_us(d.ops[static_cast<unsigned>(stats::LatencyOp::get_)]);
      p.set_p99_us = p99_us(d.ops[static_cast<unsigned>(stats::LatencyOp::set_)]);
    }
  }
  previous_ = std::move(cur);
  previous_latency_ = latency;
  have_previous_ = true;
  ring_[next_] = p;
  next_ = (next_ + 1) % kSamples;
  if (size_ < kSamples) ++size_;
}

std::string History::json() const {
  using nlohmann::json;
  std::lock_guard lock(mu_);
  json t = json::array(), get = json::array(), set = json::array(), del = json::array(),
       incr_decr = json::array(), touch = json::array(), hit = json::array(),
       get_p99 = json::array(), set_p99 = json::array(), bytes = json::array(),
       limit = json::array(), items = json::array(), evictions = json::array(),
       conns = json::array();
  auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  for (std::size_t i = 0; i < size_; ++i) {
    const Point& p = ring_[(next_ + kSamples - size_ + i) % kSamples];
    t.push_back(p.t);
    get.push_back(p.get);
    set.push_back(p.set);
    del.push_back(p.del);
    incr_decr.push_back(p.incr_decr);
    touch.push_back(p.touch);
    hit.push_back(opt(p.hit_ratio));
    get_p99.push_back(opt(p.get_p99_us));
    set_p99.push_back(opt(p.set_p99_us));
    bytes.push_back(p.bytes);
    limit.push_back(p.limit_maxbytes);
    items.push_back(p.curr_items);
    evictions.push_back(p.evictions);
    conns.push_back(p.curr_connections);
  }
  const json doc = {{"interval", 1},
                    {"t", t},
                    {"get", get},
                    {"set", set},
                    {"delete", del},
                    {"incr_decr", incr_decr},
                    {"touch", touch},
                    {"hit_ratio", hit},
                    {"get_p99_us", get_p99},
                    {"set_p99_us", set_p99},
                    {"bytes", bytes},
                    {"limit_maxbytes", limit},
                    {"curr_items", items},
                    {"evictions", evictions},
                    {"curr_connections", conns}};
  return doc.dump() + "\n";
}

}  // namespace memcoro::admin
