// console_socket() over plain HTTP.
#include "console_socket_impl.hpp"

namespace memcoro::admin {

template boost::asio::awaitable<void> console_socket(
    boost::beast::tcp_stream, boost::beast::http::request<boost::beast::http::string_body>,
    ConsoleSocket);

}  // namespace memcoro::admin
