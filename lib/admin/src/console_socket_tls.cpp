// console_socket() over HTTPS (--admin-tls).
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "console_socket_impl.hpp"

namespace memcoro::admin {

template boost::asio::awaitable<void> console_socket(
    boost::beast::ssl_stream<boost::beast::tcp_stream>,
    boost::beast::http::request<boost::beast::http::string_body>, ConsoleSocket);

}  // namespace memcoro::admin
