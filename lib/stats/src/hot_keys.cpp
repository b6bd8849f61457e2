#include "memcoro/stats/hot_keys.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <unordered_map>

namespace memcoro::stats {

std::uint64_t key_hash(std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string escape_key(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(key.size());
  for (unsigned char c : key) {
    if (c > 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void HotKeyTracker::Summary::index_insert(unsigned slot) {
  unsigned at = home(hashes[slot]);
  while (index[at] != 0) at = (at + 1) % kIndex;
  index[at] = static_cast<std::uint8_t>(slot + 1);
}

void HotKeyTracker::Summary::index_erase(unsigned slot) {
  unsigned hole = home(hashes[slot]);
  while (index[hole] != slot + 1) hole = (hole + 1) % kIndex;
  // Backward-shift deletion: each later entry of the run whose home is not
  // between the hole and itself moves into the hole, so that no probe
  // stops early at it.
  for (unsigned at = (hole + 1) % kIndex; index[at] != 0; at = (at + 1) % kIndex) {
    const unsigned h = home(hashes[index[at] - 1u]);
    const bool stays = hole < at ? (hole < h && h <= at) : (hole < h || h <= at);
    if (stays) continue;
    index[hole] = index[at];
    hole = at;
  }
  index[hole] = 0;
}

unsigned HotKeyTracker::Summary::least() {
  unsigned min_at = cursor % n;
  for (unsigned k = 0; k < n; ++k) {
    const unsigned i = (cursor + k) % n;
    if (counts[i] == floor) {
      cursor = i + 1;
      return i;
    }
    if (counts[i] < counts[min_at]) min_at = i;
  }
  floor = counts[min_at];
  cursor = min_at + 1;
  return min_at;
}

void HotKeyTracker::Summary::add(std::string_view key, std::uint64_t hash) {
  ++samples;
  for (unsigned at = home(hash); index[at] != 0; at = (at + 1) % kIndex) {
    const unsigned i = index[at] - 1u;
    if (hashes[i] == hash && slots[i].key == key) {
      ++counts[i];
      return;
    }
  }
  unsigned at = n;
  if (n < kTracked) {
    if (slots.size() == n) {
      slots.emplace_back();
      slots.back().key.reserve(250);  // (memcached's longest key: no reallocation later)
    }
    ++n;
    slots[at].error = 0;
    counts[at] = 0;
  } else {
    // Full: the least counted key gives its place, and its count becomes
    // the newcomer's error.
    at = least();
    index_erase(at);
    slots[at].error = counts[at];
  }
  slots[at].key.assign(key);
  hashes[at] = hash;
  index_insert(at);
  ++counts[at];
}

void HotKeyTracker::roll(std::uint64_t now) {
  if (!started_) {
    started_ = true;
    start_ = now;
    return;
  }
  if (now < start_ + kWindowSeconds) return;
  std::swap(previous_, current_);
  previous_seconds_ = now - start_;
  for (Summary& s : current_.uses) s.clear();
  start_ = now;
}

void HotKeyTracker::record(KeyUse use, std::string_view key, std::uint64_t now) {
  const std::uint64_t hash = key_hash(key);
  std::lock_guard lock(mu_);
  roll(now);
  current_.uses[static_cast<unsigned>(use)].add(key, hash);
}

HotKeysSample HotKeyTracker::read(std::uint64_t now) {
  HotKeysSample out;
  std::lock_guard lock(mu_);
  roll(now);
  if (!started_) return out;
  out.seconds = previous_seconds_ + (now - start_);
  for (unsigned u = 0; u < 2; ++u) {
    for (const Window* w : {&previous_, &current_}) {
      const Summary& s = w->uses[u];
      for (unsigned i = 0; i < s.n; ++i) {
        out.keys[u].push_back({s.slots[i].key, s.hashes[i], s.counts[i], s.slots[i].error});
      }
      out.samples[u] += s.samples;
    }
  }
  return out;
}

HotKeysReport merge_hot_keys(const std::vector<HotKeysSample>& threads, std::size_t limit) {
  HotKeysReport report;
  for (const HotKeysSample& t : threads) report.seconds = std::max(report.seconds, t.seconds);
  const double seconds = static_cast<double>(std::max<std::uint64_t>(report.seconds, 1));
  for (unsigned u = 0; u < 2; ++u) {
    std::unordered_map<std::string_view, HotKey> sum;
    std::uint64_t samples = 0;
    for (const HotKeysSample& t : threads) {
      samples += t.samples[u];
      for (const HotKey& k : t.keys[u]) {
        HotKey& s = sum[k.key];
        if (s.count == 0) {
          s.key = k.key;
          s.hash = k.hash;
        }
        s.count += k.count;
        s.error += k.error;
      }
    }
    std::vector<const HotKey*> order;
    order.reserve(sum.size());
    for (const auto& [key, k] : sum) order.push_back(&k);
    // By count, then by key, so that equal counts always list alike.
    std::sort(order.begin(), order.end(), [](const HotKey* a, const HotKey* b) {
      return a->count != b->count ? a->count > b->count : a->key < b->key;
    });
    if (order.size() > limit) order.resize(limit);
    for (const HotKey* k : order) {
      report.rows[u].push_back(
          {k->key, k->hash, static_cast<double>(k->count * HotKeyTracker::kSampleEvery) / seconds,
           samples == 0 ? 0.0 : static_cast<double>(k->count) / static_cast<double>(samples)});
    }
  }
  return report;
}

void hot_keys_report(const HotKeysReport& r, bool hidden, Sink& sink) {
  sink.add("hot_keys_seconds", r.seconds);
  sink.add("hot_keys_sample_every", std::uint64_t{HotKeyTracker::kSampleEvery});
  std::string name, text;
  for (unsigned u = 0; u < 2; ++u) {
    unsigned rank = 0;
    for (const HotKeyRow& row : r.rows[u]) {
      const std::string prefix = (u == 0 ? "read_" : "write_") + std::to_string(++rank);
      if (hidden) {
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016" PRIx64, row.hash);
        text = hex;
        name = prefix + "_hash";
      } else {
        text = escape_key(row.key);
        name = prefix + "_key";
      }
      sink.add(name, std::string_view(text));
      sink.add(prefix + "_rate", row.rate);
      sink.add(prefix + "_share", row.share);
    }
  }
}

}  // namespace memcoro::stats
