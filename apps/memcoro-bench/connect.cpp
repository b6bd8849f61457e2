#include "connect.hpp"

#include <boost/asio/ssl/host_name_verification.hpp>

namespace memcoro::bench {

asio::ssl::context make_tls_context(const Options& o) {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  if (o.tls_ca.empty()) {
    ctx.set_verify_mode(asio::ssl::verify_none);
  } else {
    ctx.load_verify_file(o.tls_ca);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    ctx.set_verify_callback(asio::ssl::host_name_verification(o.host));
  }
  return ctx;
}

asio::awaitable<boost::system::error_code> connect(tcp::socket& sock, const Options& o) {
  auto [ec] = co_await sock.async_connect(tcp::endpoint(asio::ip::make_address(o.host), o.port),
                                          use_nothrow);
  if (!ec) sock.set_option(tcp::no_delay(true), ec);
  co_return ec;
}

asio::awaitable<boost::system::error_code> handshake(TlsStream& stream) {
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_nothrow);
  co_return ec;
}

}  // namespace memcoro::bench
