#pragma once
// How memcoro-bench reaches the server: TCP, and TLS over it with --tls.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include "options.hpp"

namespace memcoro::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using TlsStream = asio::ssl::stream<tcp::socket>;
// Expected network errors come back as values.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// The client context of --tls. A load generator does not verify the server
// unless --tls-ca names the CA (then the certificate must also match the
// --server address). Every handshake is a full one: the client keeps no
// sessions to resume. Throws on an unreadable CA file.
asio::ssl::context make_tls_context(const Options& o);

// Connects `sock` to --server, with TCP_NODELAY.
asio::awaitable<boost::system::error_code> connect(asio::ip::tcp::socket& sock, const Options& o);

// The client side of the TLS handshake.
asio::awaitable<boost::system::error_code> handshake(TlsStream& stream);

}  // namespace memcoro::bench
