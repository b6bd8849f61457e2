#pragma once
// memcoro-bench's command line.
#include <cstddef>
#include <cstdint>
#include <string>

namespace memcoro::bench {

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
  std::string protocol = "text";  // text | meta | binary
  double test_time = 10;
  std::uint64_t requests = 0;  // total; 0: use test_time
  bool prefill = false;
  unsigned expiry_min = 0, expiry_max = 0;
  std::string json_file;
  bool quiet = false;
  bool meta_quiet = false;  // meta: q on every request, mn ends each batch
  double rate = 0;          // requests a second over all connections; 0: closed loop
  bool tls = false;         // every connection over TLS
  std::string tls_ca;       // --tls-ca: verify the server against this CA
  bool handshakes = false;  // connections per second instead of a workload
};

// Fills `o` from the command line. Returns -1 to go on, or the status to
// exit with (0 after --help; 64 after a usage error, which it printed).
int parse_options(int argc, char** argv, Options& o);

}  // namespace memcoro::bench
