#include "options.hpp"

#include <getopt.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace memcoro::bench {
namespace {

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
      "  --protocol text|meta|binary  (text); binary with --pipeline N > 1 sends quiet\n"
      "                           batches: GETKQ and SETQ, then NOOP\n"
      "  --test-time S            seconds to run (10)\n"
      "  --requests N             total requests instead of a time\n"
      "  --rate R                 R requests a second over all connections, on a fixed\n"
      "                           schedule; latency counts from the scheduled time\n"
      "  --prefill                set every key once before the test\n"
      "  --meta-quiet             meta protocol, quiet mode: q on every request, mn per batch\n"
      "  --tls                    TLS on every connection (the server is not verified)\n"
      "  --tls-ca FILE            TLS, and verify the server against this CA\n"
      "  --handshakes             connections per second: connect (and TLS handshake), one\n"
      "                           version round trip, close; repeated on every connection\n"
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

int parse_options(int argc, char** argv, Options& o) {
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
                                 {"tls", no_argument, nullptr, 'Z'},
                                 {"tls-ca", required_argument, nullptr, 'C'},
                                 {"handshakes", no_argument, nullptr, 'H'},
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
      case 'Z': o.tls = true; break;
      case 'C':
        o.tls = true;
        o.tls_ca = optarg;
        break;
      case 'H': o.handshakes = true; break;
      case 'h': usage(); return 0;
      default: usage(); return 64;
    }
  }
  if (o.protocol != "text" && o.protocol != "meta" && o.protocol != "binary") {
    std::fprintf(stderr, "memcoro-bench: --protocol is text, meta or binary\n");
    return 64;
  }
  if (o.pattern != "uniform" && o.pattern != "gaussian" && o.pattern != "zipf" &&
      o.pattern != "sequential") {
    std::fprintf(stderr, "memcoro-bench: --key-pattern is uniform, gaussian, zipf or sequential\n");
    return 64;
  }
  return -1;
}

}  // namespace memcoro::bench
