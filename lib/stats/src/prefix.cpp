#include "memcoro/stats/prefix.hpp"

namespace memcoro::stats {

PrefixStats::Counts* PrefixStats::find_locked(std::string_view key) {
  const std::size_t at = key.find(delimiter_);
  if (at == std::string_view::npos) return nullptr;
  const std::string_view prefix = key.substr(0, at);
  if (auto it = counts_.find(prefix); it != counts_.end()) return &it->second;
  if (counts_.size() >= kMaxPrefixes) return nullptr;
  return &counts_.emplace(std::string(prefix), Counts{}).first->second;
}

void PrefixStats::record_get(std::string_view key, bool hit) {
  std::lock_guard lock(mu_);
  if (Counts* c = find_locked(key)) {
    ++c->get;
    c->hit += hit;
  }
}

void PrefixStats::record_set(std::string_view key) {
  std::lock_guard lock(mu_);
  if (Counts* c = find_locked(key)) ++c->set;
}

void PrefixStats::record_delete(std::string_view key) {
  std::lock_guard lock(mu_);
  if (Counts* c = find_locked(key)) ++c->del;
}

void PrefixStats::dump(std::string& out) const {
  std::lock_guard lock(mu_);
  for (const auto& [prefix, c] : counts_) {
    out += "PREFIX ";
    out += prefix;
    out += " get " + std::to_string(c.get) + " hit " + std::to_string(c.hit) + " set " +
           std::to_string(c.set) + " del " + std::to_string(c.del) + "\r\n";
  }
  out += "END\r\n";
}

void PrefixStats::clear() {
  std::lock_guard lock(mu_);
  counts_.clear();
}

std::size_t PrefixStats::size() const {
  std::lock_guard lock(mu_);
  return counts_.size();
}

}  // namespace memcoro::stats
