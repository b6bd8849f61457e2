// memcoro-bench: a load generator for memcached-protocol servers, in the
// spirit of memtier_benchmark, on Asio coroutines and lib/client.
//
//   memcoro-bench --server 127.0.0.1:11211 --threads 4 --connections 10
//       --ratio 1:10 --pipeline 1 --data-size 32 --test-time 10
//
// Reports ops/s, hits, misses, bytes and latency percentiles (from a
// log-bucket histogram) as a table, and as JSON with --json FILE.
//
// By default every connection sends its next batch as soon as the last one
// is answered (a closed loop: latency at saturation). With --rate R the
// connections send R requests a second between them on a fixed schedule (an
// open loop, as wrk2 does), and a request's latency runs from the moment the
// schedule meant to send it, so a server that falls behind is charged for
// the requests that waited (no coordinated omission).
#include <getopt.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <boost/asio.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "memcoro/client/meta.hpp"

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

// xoshiro256** (Blackman and Vigna): the generator is on every request's
// path, and std::mt19937_64 cost the load generator 3% of its CPU.
class Rng {
 public:
  using result_type = std::uint64_t;
  explicit Rng(std::uint64_t seed) {
    for (auto& w : s_) {  // splitmix64 spreads the seed over the state
      seed += 0x9e3779b97f4a7c15ull;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      w = z ^ (z >> 31);
    }
  }
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }
  result_type operator()() {
    const std::uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
  }

 private:
  std::uint64_t s_[4];
};

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 11211;
  unsigned threads = 4;
  unsigned connections = 10;  // per thread
  unsigned pipeline = 1;
  unsigned set_ratio = 1, get_ratio = 10;
  std::uint64_t key_max = 100000;
  std::string key_prefix = "memtier-";
  std::string pattern = "uniform";  // uniform gaussian zipf sequential
  std::size_t size_min = 32, size_max = 32;
  unsigned multi_get = 1;
  std::string protocol = "text";  // text | meta
  double test_time = 10;
  std::uint64_t requests = 0;  // total; 0: use test_time
  bool prefill = false;
  unsigned expiry_min = 0, expiry_max = 0;
  std::string json_file;
  bool quiet = false;
  bool meta_quiet = false;  // meta: q on every request, mn ends each batch
  double rate = 0;          // requests a second over all connections; 0: closed loop
};

// Latency histogram: 2 significant digits over nanoseconds to minutes.
class Histogram {
 public:
  void add(std::uint64_t ns) {
    ++count_;
    max_ = std::max(max_, ns);
    buckets_[index(ns)]++;
  }
  void merge(const Histogram& o) {
    count_ += o.count_;
    max_ = std::max(max_, o.max_);
    for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
  }
  double percentile_us(double p) const {
    if (count_ == 0) return 0;
    const auto want =
        static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= want) return static_cast<double>(upper(i)) / 1000.0;
    }
    return static_cast<double>(max_) / 1000.0;
  }
  double max_us() const { return static_cast<double>(max_) / 1000.0; }
  std::uint64_t count() const { return count_; }

 private:
  // Exact below 64 ns; above, 32 buckets per power of two (about 3%).
  static std::size_t index(std::uint64_t ns) {
    if (ns < 64) return static_cast<std::size_t>(ns);
    const unsigned msb = 63u - static_cast<unsigned>(__builtin_clzll(ns));
    return 64 + (msb - 6) * 32 + ((ns >> (msb - 5)) & 31);
  }
  static std::uint64_t upper(std::size_t i) {
    if (i < 64) return i;
    const unsigned msb = 6 + static_cast<unsigned>((i - 64) / 32);
    const std::uint64_t sub = (i - 64) % 32;
    return ((32 + sub) << (msb - 5)) + (std::uint64_t{1} << (msb - 5)) - 1;
  }
  std::uint64_t count_ = 0, max_ = 0;
  std::vector<std::uint64_t> buckets_ = std::vector<std::uint64_t>(64 + 58 * 32, 0);
};

struct Totals {
  std::uint64_t ops = 0, gets = 0, sets = 0, hits = 0, misses = 0, errors = 0;
  std::uint64_t bytes_sent = 0, bytes_received = 0;
  Histogram latency;
  void merge(const Totals& o) {
    ops += o.ops;
    gets += o.gets;
    sets += o.sets;
    hits += o.hits;
    misses += o.misses;
    errors += o.errors;
    bytes_sent += o.bytes_sent;
    bytes_received += o.bytes_received;
    latency.merge(o.latency);
  }
};

class Keys {
 public:
  Keys(const Options& o, std::uint64_t seed) : o_(o), rng_(seed), next_(seed % o.key_max) {
    if (o.pattern == "zipf") build_zipf();
  }
  std::uint64_t next() {
    const std::uint64_t n = o_.key_max;
    if (o_.pattern == "sequential") return (next_++ % n) + 1;
    if (o_.pattern == "gaussian") {
      std::normal_distribution<double> d(static_cast<double>(n) / 2, static_cast<double>(n) / 6);
      const double v = std::clamp(d(rng_), 1.0, static_cast<double>(n));
      return static_cast<std::uint64_t>(v);
    }
    if (o_.pattern == "zipf") {
      const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
      return static_cast<std::uint64_t>(std::lower_bound(cdf_->begin(), cdf_->end(), u) -
                                        cdf_->begin()) +
             1;
    }
    return std::uniform_int_distribution<std::uint64_t>(1, n)(rng_);
  }
  Rng& rng() { return rng_; }

 private:
  void build_zipf() {
    static std::shared_ptr<std::vector<double>> shared;
    static std::mutex mu;
    std::lock_guard lock(mu);
    if (!shared) {
      auto cdf = std::make_shared<std::vector<double>>(o_.key_max);
      double sum = 0;
      for (std::uint64_t i = 0; i < o_.key_max; ++i) sum += 1.0 / std::pow(double(i + 1), 0.99);
      double acc = 0;
      for (std::uint64_t i = 0; i < o_.key_max; ++i) {
        acc += 1.0 / std::pow(double(i + 1), 0.99) / sum;
        (*cdf)[i] = acc;
      }
      shared = cdf;
    }
    cdf_ = shared;
  }
  const Options& o_;
  Rng rng_;
  std::uint64_t next_;
  std::shared_ptr<std::vector<double>> cdf_;
};

struct Shared {
  Options opt;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> issued{0};  // for --requests
  std::atomic<std::uint64_t> done{0};    // progress
  std::string value;                     // size_max bytes of payload
};

// Counts complete replies in the bytes received; returns how many bytes
// they took, or 0 if the next reply is not complete yet.
struct ReplyScanner {
  // text: a get ends with END\r\n (VALUE lines counted as hits), a set with
  // a single line. meta: one line, plus a data block for VA.
  static std::size_t one(std::string_view in, bool meta, unsigned keys, unsigned& hits,
                         unsigned& misses, bool& error) {
    if (meta) {
      memcoro::client::Response r;
      memcoro::client::ReadResult rr = memcoro::client::read_response(in, r);
      if (rr.status == memcoro::client::ReadStatus::need_more) return 0;
      if (rr.status == memcoro::client::ReadStatus::error) {
        error = true;
      } else if (r.status == memcoro::client::Status::value) {
        hits = 1;
      } else if (r.status == memcoro::client::Status::miss) {
        misses = 1;
      }
      return rr.consumed;
    }
    std::size_t at = 0;
    unsigned values = 0;
    for (;;) {
      const std::size_t nl = in.find("\r\n", at);
      if (nl == std::string_view::npos) return 0;
      const std::string_view line = in.substr(at, nl - at);
      if (line.starts_with("VALUE ")) {
        // VALUE <key> <flags> <bytes>
        const std::size_t sp = line.rfind(' ');
        const std::size_t bytes = std::strtoull(line.data() + sp + 1, nullptr, 10);
        if (in.size() < nl + 2 + bytes + 2) return 0;
        at = nl + 2 + bytes + 2;
        ++values;
        continue;
      }
      if (line == "END") {
        // A multi-get answers only the keys it found.
        hits = values;
        misses = keys - std::min(keys, values);
        return nl + 2;
      }
      if (line == "STORED" || line == "NOT_STORED" || line == "EXISTS" || line == "NOT_FOUND") {
        return nl + 2;
      }
      error = true;
      return nl + 2;
    }
  }
};

awaitable<void> connection(Shared& sh, Totals& totals, unsigned id) {
  const Options& o = sh.opt;
  tcp::socket sock(co_await asio::this_coro::executor);
  auto [cec] = co_await sock.async_connect(tcp::endpoint(asio::ip::make_address(o.host), o.port),
                                           use_nothrow);
  if (cec) {
    std::fprintf(stderr, "connect: %s\n", cec.message().c_str());
    ++totals.errors;
    co_return;
  }
  sock.set_option(tcp::no_delay(true));
  Keys keys(o, 0x9e3779b97f4a7c15ull * (id + 1));
  std::uniform_int_distribution<std::size_t> size_dist(o.size_min, o.size_max);
  std::uniform_int_distribution<unsigned> ratio(1, o.set_ratio + o.get_ratio);
  std::uniform_int_distribution<unsigned> expiry(o.expiry_min,
                                                 std::max(o.expiry_min, o.expiry_max));
  const bool meta = o.protocol == "meta";
  std::string out;
  // Replies are read straight into `in`; in[at, end) is not parsed yet.
  std::vector<char> in(256 * 1024);
  std::size_t at = 0, end = 0;
  // Keys are the prefix and a number, written in place (no allocation).
  std::string key_buf = o.key_prefix;
  key_buf.resize(o.key_prefix.size() + 20);
  auto next_key = [&] {
    char* digits = key_buf.data() + o.key_prefix.size();
    const char* last = std::to_chars(digits, key_buf.data() + key_buf.size(), keys.next()).ptr;
    return std::string_view(key_buf.data(), static_cast<std::size_t>(last - key_buf.data()));
  };
  auto append_number = [&](std::uint64_t v) {
    char digits[20];
    out.append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
  };
  // --rate: this connection's share of the schedule, one batch per interval,
  // starting at a random phase so that the connections do not send together.
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
      o.rate > 0 ? o.pipeline * double(o.threads) * o.connections / o.rate : 0.0));
  auto due = Clock::now() + interval * static_cast<long>(keys.rng()() % 1024) / 1024;
  asio::steady_timer pacer(sock.get_executor());
  for (;;) {
    if (sh.stop.load(std::memory_order_relaxed)) break;
    if (o.rate > 0) {
      if (Clock::now() < due) {
        pacer.expires_at(due);
        co_await pacer.async_wait(use_nothrow);
        if (sh.stop.load(std::memory_order_relaxed)) break;
      }
    }
    if (o.requests != 0 && sh.issued.fetch_add(o.pipeline) >= o.requests) break;
    out.clear();
    unsigned expected = 0;
    unsigned gets_in_batch = 0;
    for (unsigned p = 0; p < o.pipeline; ++p) {
      const bool is_set = ratio(keys.rng()) <= o.set_ratio;
      if (is_set) {
        const std::string_view key = next_key();
        const std::size_t size = size_dist(keys.rng());
        const unsigned ttl = o.expiry_max ? expiry(keys.rng()) : 0;
        if (meta) {
          memcoro::client::Request r =
              memcoro::client::Request::set(key, std::string_view(sh.value).substr(0, size));
          if (ttl) r.ttl(ttl);
          if (o.meta_quiet) r.quiet();
          memcoro::client::write_request(r, out);
        } else {
          out += "set ";
          out += key;
          out += " 0 ";
          append_number(ttl);
          out += ' ';
          append_number(size);
          out += "\r\n";
          out.append(sh.value.data(), size);
          out += "\r\n";
        }
        ++totals.sets;
      } else {
        ++gets_in_batch;
        if (meta) {
          for (unsigned g = 0; g < o.multi_get; ++g) {
            memcoro::client::Request r =
                memcoro::client::Request::get(next_key()).return_value().return_flags();
            if (o.meta_quiet) r.quiet();
            memcoro::client::write_request(r, out);
          }
          expected += o.multi_get - 1;  // one reply per key
        } else {
          out += "get";
          for (unsigned g = 0; g < o.multi_get; ++g) {
            out += ' ';
            out += next_key();
          }
          out += "\r\n";
        }
        totals.gets += o.multi_get;
      }
      ++expected;
    }
    const std::uint64_t batch_gets = static_cast<std::uint64_t>(gets_in_batch) * o.multi_get;
    if (o.meta_quiet) {
      // Only hits and failures answer; the MN closes the batch.
      memcoro::client::write_request(memcoro::client::Request::noop(), out);
      totals.ops += expected;
      expected = 1;
    }
    const auto start = o.rate > 0 ? due : Clock::now();
    due += interval;
    auto [wec, wn] = co_await asio::async_write(sock, asio::buffer(out), use_nothrow);
    if (wec) {
      ++totals.errors;
      break;
    }
    totals.bytes_sent += wn;
    unsigned got = 0;
    at = end = 0;  // the previous batch's replies were all consumed
    std::uint64_t batch_hits = 0;
    std::uint64_t latency = 0;  // when the bytes being parsed arrived
    while (got < expected) {
      unsigned hits = 0, misses = 0;
      bool error = false;
      const std::string_view pending(in.data() + at, end - at);
      const std::size_t used = ReplyScanner::one(pending, meta, o.multi_get, hits, misses, error);
      if (used == 0) {
        if (at > 0) {
          std::memmove(in.data(), in.data() + at, end - at);
          end -= at;
          at = 0;
        }
        if (end == in.size()) in.resize(in.size() * 2);
        auto [rec, rn] = co_await sock.async_read_some(
            asio::buffer(in.data() + end, in.size() - end), use_nothrow);
        if (rec) {
          ++totals.errors;
          co_return;
        }
        totals.bytes_received += rn;
        end += rn;
        // One clock read per arrival: every reply these bytes complete
        // arrived now.
        latency = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
        continue;
      }
      at += used;
      if (o.meta_quiet) {
        if (pending.starts_with("MN\r\n")) {
          ++got;
          totals.hits += batch_hits;
          totals.misses += batch_gets - std::min(batch_gets, batch_hits);
          for (unsigned p = 0; p < o.pipeline; ++p) totals.latency.add(latency);
        } else {
          batch_hits += hits;
          totals.errors += error;
        }
        continue;
      }
      ++got;
      totals.hits += hits;
      totals.misses += misses;
      totals.errors += error;
      totals.latency.add(latency);
    }
    if (!o.meta_quiet) totals.ops += expected;
    sh.done.fetch_add(o.meta_quiet ? o.pipeline : expected, std::memory_order_relaxed);
  }
}

void prefill(const Options& o) {
  asio::io_context ctx;
  tcp::socket sock(ctx);
  sock.connect(tcp::endpoint(asio::ip::make_address(o.host), o.port));
  const std::string value(o.size_max, 'p');
  std::string out;
  for (std::uint64_t k = 1; k <= o.key_max; ++k) {
    out += "set " + o.key_prefix + std::to_string(k) + " 0 0 " + std::to_string(o.size_min) +
           " noreply\r\n";
    out.append(value.data(), o.size_min);
    out += "\r\n";
    if (out.size() > (1 << 20) || k == o.key_max) {
      asio::write(sock, asio::buffer(out));
      out.clear();
    }
  }
  asio::write(sock, asio::buffer(std::string("mn\r\n")));
  std::string in;
  char buf[4096];
  while (in.find("MN\r\n") == std::string::npos) {
    std::size_t n = sock.read_some(asio::buffer(buf));
    in.append(buf, n);
  }
}

void usage() {
  std::fputs(
      "usage: memcoro-bench [options]\n"
      "  --server HOST:PORT       (127.0.0.1:11211)\n"
      "  --threads N              client threads (4)\n"
      "  --connections N          connections per thread (10)\n"
      "  --pipeline N             requests in flight per connection (1)\n"
      "  --ratio SET:GET          (1:10)\n"
      "  --key-maximum N          keys 1..N (100000)\n"
      "  --key-prefix P           (memtier-)\n"
      "  --key-pattern P          uniform | gaussian | zipf | sequential (uniform)\n"
      "  --data-size N            value bytes (32)\n"
      "  --data-size-range A-B    value bytes, uniform in [A, B]\n"
      "  --expiry-range A-B       TTL of sets, uniform in [A, B] seconds (0: none)\n"
      "  --multi-get N            keys per get (1)\n"
      "  --protocol text|meta     (text)\n"
      "  --test-time S            seconds to run (10)\n"
      "  --requests N             total requests instead of a time\n"
      "  --rate R                 R requests a second over all connections, on a fixed\n"
      "                           schedule; latency counts from the scheduled time\n"
      "  --prefill                set every key once before the test\n"
      "  --meta-quiet             meta protocol, quiet mode: q on every request, mn per batch\n"
      "  --json FILE              write the results as JSON\n"
      "  --quiet                  no progress lines\n",
      stdout);
}

bool parse_range(const char* text, std::size_t& lo, std::size_t& hi) {
  char* end = nullptr;
  lo = std::strtoull(text, &end, 10);
  if (*end != '-') return false;
  hi = std::strtoull(end + 1, &end, 10);
  return *end == '\0' && lo <= hi;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  static const option longs[] = {{"server", required_argument, nullptr, 's'},
                                 {"threads", required_argument, nullptr, 't'},
                                 {"connections", required_argument, nullptr, 'c'},
                                 {"pipeline", required_argument, nullptr, 'P'},
                                 {"ratio", required_argument, nullptr, 'r'},
                                 {"key-maximum", required_argument, nullptr, 'k'},
                                 {"key-prefix", required_argument, nullptr, 'x'},
                                 {"key-pattern", required_argument, nullptr, 'K'},
                                 {"data-size", required_argument, nullptr, 'd'},
                                 {"data-size-range", required_argument, nullptr, 'R'},
                                 {"expiry-range", required_argument, nullptr, 'e'},
                                 {"multi-get", required_argument, nullptr, 'm'},
                                 {"protocol", required_argument, nullptr, 'p'},
                                 {"test-time", required_argument, nullptr, 'T'},
                                 {"requests", required_argument, nullptr, 'n'},
                                 {"prefill", no_argument, nullptr, 'f'},
                                 {"json", required_argument, nullptr, 'j'},
                                 {"quiet", no_argument, nullptr, 'q'},
                                 {"meta-quiet", no_argument, nullptr, 'Q'},
                                 {"rate", required_argument, nullptr, 'L'},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", longs, nullptr)) != -1) {
    std::size_t lo = 0, hi = 0;
    switch (c) {
      case 's': {
        std::string s = optarg;
        const auto colon = s.rfind(':');
        o.host = s.substr(0, colon);
        o.port = static_cast<std::uint16_t>(std::stoi(s.substr(colon + 1)));
        break;
      }
      case 't': o.threads = std::max(1, std::atoi(optarg)); break;
      case 'c': o.connections = std::max(1, std::atoi(optarg)); break;
      case 'P': o.pipeline = std::max(1, std::atoi(optarg)); break;
      case 'r':
        if (std::sscanf(optarg, "%u:%u", &o.set_ratio, &o.get_ratio) != 2 ||
            o.set_ratio + o.get_ratio == 0) {
          std::fprintf(stderr, "memcoro-bench: --ratio wants SET:GET\n");
          return 64;
        }
        break;
      case 'k': o.key_max = std::max<std::uint64_t>(1, std::strtoull(optarg, nullptr, 10)); break;
      case 'x': o.key_prefix = optarg; break;
      case 'K': o.pattern = optarg; break;
      case 'd': o.size_min = o.size_max = std::strtoull(optarg, nullptr, 10); break;
      case 'R':
        if (!parse_range(optarg, lo, hi)) {
          std::fprintf(stderr, "memcoro-bench: --data-size-range wants A-B\n");
          return 64;
        }
        o.size_min = lo;
        o.size_max = hi;
        break;
      case 'e':
        if (!parse_range(optarg, lo, hi)) {
          std::fprintf(stderr, "memcoro-bench: --expiry-range wants A-B\n");
          return 64;
        }
        o.expiry_min = static_cast<unsigned>(lo);
        o.expiry_max = static_cast<unsigned>(hi);
        break;
      case 'm': o.multi_get = std::max(1, std::atoi(optarg)); break;
      case 'p': o.protocol = optarg; break;
      case 'T': o.test_time = std::atof(optarg); break;
      case 'n': o.requests = std::strtoull(optarg, nullptr, 10); break;
      case 'f': o.prefill = true; break;
      case 'j': o.json_file = optarg; break;
      case 'q': o.quiet = true; break;
      case 'Q':
        o.meta_quiet = true;
        o.protocol = "meta";
        break;
      case 'L': o.rate = std::max(0.0, std::atof(optarg)); break;
      case 'h': usage(); return 0;
      default: usage(); return 64;
    }
  }
  if (o.protocol != "text" && o.protocol != "meta") {
    std::fprintf(stderr, "memcoro-bench: --protocol is text or meta\n");
    return 64;
  }
  if (o.pattern != "uniform" && o.pattern != "gaussian" && o.pattern != "zipf" &&
      o.pattern != "sequential") {
    std::fprintf(stderr, "memcoro-bench: --key-pattern is uniform, gaussian, zipf or sequential\n");
    return 64;
  }
  try {
    if (o.prefill) prefill(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memcoro-bench: prefill: %s\n", e.what());
    return 69;
  }

  Shared sh;
  sh.opt = o;
  sh.value.assign(std::max<std::size_t>(o.size_max, 1), 'x');
  std::vector<std::unique_ptr<asio::io_context>> ctxs;
  std::vector<std::vector<Totals>> totals(o.threads, std::vector<Totals>(o.connections));
  std::vector<std::thread> threads;
  const auto started = Clock::now();
  for (unsigned t = 0; t < o.threads; ++t) {
    ctxs.push_back(std::make_unique<asio::io_context>(1));
    for (unsigned k = 0; k < o.connections; ++k) {
      asio::co_spawn(*ctxs.back(), connection(sh, totals[t][k], t * o.connections + k),
                     asio::detached);
    }
    threads.emplace_back([ctx = ctxs.back().get()] { ctx->run(); });
  }
  std::uint64_t last = 0;
  auto last_t = started;
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    if (o.requests == 0 && elapsed >= o.test_time) sh.stop = true;
    bool all_done = true;
    for (auto& ctx : ctxs) all_done = all_done && ctx->stopped();
    if (all_done) break;
    if (!o.quiet && Clock::now() - last_t >= std::chrono::seconds(1)) {
      const std::uint64_t now_done = sh.done.load();
      const double dt = std::chrono::duration<double>(Clock::now() - last_t).count();
      std::fprintf(stderr, "[%5.1fs] %10.0f ops/s, %llu requests\n", elapsed,
                   static_cast<double>(now_done - last) / dt,
                   static_cast<unsigned long long>(now_done));
      last = now_done;
      last_t = Clock::now();
    }
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  Totals all;
  for (auto& per_thread : totals) {
    for (auto& t : per_thread) all.merge(t);
  }
  const double ops_s = static_cast<double>(all.ops) / elapsed;
  nlohmann::ordered_json j = {
      {"server", o.host + ":" + std::to_string(o.port)},
      {"protocol", o.protocol},
      {"threads", o.threads},
      {"connections", o.connections},
      {"pipeline", o.pipeline},
      {"rate", o.rate},
      {"seconds", elapsed},
      {"ops", all.ops},
      {"ops_per_sec", ops_s},
      {"gets", all.gets},
      {"sets", all.sets},
      {"hits", all.hits},
      {"misses", all.misses},
      {"errors", all.errors},
      {"bytes_sent", all.bytes_sent},
      {"bytes_received", all.bytes_received},
      {"latency_us",
       {{"p50", all.latency.percentile_us(50)},
        {"p90", all.latency.percentile_us(90)},
        {"p99", all.latency.percentile_us(99)},
        {"p99.9", all.latency.percentile_us(99.9)},
        {"max", all.latency.max_us()}}},
  };
  std::printf("%-10s %12s %10s %10s %10s %9s %9s %9s %9s %9s\n", "protocol", "ops/s", "hits",
              "misses", "errors", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us");
  std::printf("%-10s %12.0f %10llu %10llu %10llu %9.1f %9.1f %9.1f %9.1f %9.1f\n",
              o.protocol.c_str(), ops_s, static_cast<unsigned long long>(all.hits),
              static_cast<unsigned long long>(all.misses),
              static_cast<unsigned long long>(all.errors), all.latency.percentile_us(50),
              all.latency.percentile_us(90), all.latency.percentile_us(99),
              all.latency.percentile_us(99.9), all.latency.max_us());
  if (!o.json_file.empty()) {
    std::ofstream f(o.json_file);
    f << j.dump(2) << "\n";
  }
  return all.errors == 0 ? 0 : 1;
}
