#pragma once
// --prefill: every key set once before the test, over one connection.
#include <boost/asio/ssl/context.hpp>

#include "options.hpp"

namespace memcoro::bench {

// Sets keys 1..--key-maximum (noreply, closed by a meta no-op), over TLS if
// `tls` is not null. Throws on a network or TLS error.
void prefill(const Options& o, boost::asio::ssl::context* tls);

}  // namespace memcoro::bench
