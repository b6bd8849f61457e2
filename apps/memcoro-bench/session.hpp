#pragma once
// What memcoro-bench's connections share, and the two kinds of connection:
// one that runs the workload, and one that measures connections per second.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <string>

#include "options.hpp"
#include "results.hpp"

namespace memcoro::bench {

struct Shared {
  Options opt;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> issued{0};      // for --requests
  std::atomic<std::uint64_t> done{0};        // progress
  std::string value;                         // size_max bytes of payload
  boost::asio::ssl::context* tls = nullptr;  // --tls: the client context
  // Every connection connects (and shakes hands) first; the workload and
  // its clock start together once all have (`go`), so that no request
  // waits behind the server's handshakes of the others.
  std::atomic<unsigned> ready{0};  // connected, or failed to
  std::atomic<bool> go{false};
};

// Connects (with a TLS handshake under --tls) and runs the workload until
// sh.stop or --requests.
boost::asio::awaitable<void> load_connection(Shared& sh, Totals& totals, unsigned id);

// --handshakes: connect, TLS handshake (under --tls), one `version` round
// trip and close, over and over; each cycle is one op, its latency the whole
// cycle.
boost::asio::awaitable<void> handshake_connection(Shared& sh, Totals& totals);

}  // namespace memcoro::bench
