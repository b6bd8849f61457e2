#pragma once
// GET /api/session, once upgraded: one text-protocol session over a
// WebSocket, a command per message and a JSON answer per command
// (console.hpp). Instantiated for plain and TLS streams in their own
// files (console_socket.cpp, console_socket_tls.cpp): Beast's WebSocket is
// the slowest code of the project to compile, and apart it builds in
// parallel with the rest.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <string>

#include "memcoro/admin/admin.hpp"

namespace memcoro::admin {

struct ConsoleSocket {
  Backend& backend;
  const Options& options;
  bool locked;        // the first message must be {"token": "..."}
  std::string peer;   // the client, as stats conns shows it
  std::string local;  // the admin port, as stats conns shows it
  int fd;             // the connection's descriptor
};

template <typename Stream>
boost::asio::awaitable<void> console_socket(
    Stream stream, boost::beast::http::request<boost::beast::http::string_body> req,
    ConsoleSocket how);

extern template boost::asio::awaitable<void> console_socket(
    boost::beast::tcp_stream, boost::beast::http::request<boost::beast::http::string_body>,
    ConsoleSocket);
extern template boost::asio::awaitable<void> console_socket(
    boost::beast::ssl_stream<boost::beast::tcp_stream>,
    boost::beast::http::request<boost::beast::http::string_body>, ConsoleSocket);

}  // namespace memcoro::admin
