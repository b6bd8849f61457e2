#pragma once
// One connection to a memcached-protocol server, as Asio coroutines:
//   auto conn = co_await Connection::connect("127.0.0.1", 11211);
//   Result r = co_await conn.get("key");
// Error replies come back as values (Result::error); a connection whose
// error says must_close() should be dropped.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "memcoro/client/meta.hpp"

namespace memcoro::client {

struct Result {
  Response response;
  std::optional<Error> error;
  bool ok() const { return !error.has_value(); }
};

struct BatchResult {
  std::vector<Response> responses;
  std::optional<Error> error;
  bool ok() const { return !error.has_value(); }
};

class Connection {
 public:
  explicit Connection(boost::asio::ip::tcp::socket socket);
  static boost::asio::awaitable<Connection> connect(std::string host, std::uint16_t port);

  // One request, one response.
  boost::asio::awaitable<Result> execute(const Request& req);
  // mg <key> v f c t: value, client flags, CAS and TTL.
  boost::asio::awaitable<Result> get(std::string_view key);
  boost::asio::awaitable<Result> set(std::string_view key, std::string_view value,
                                     std::int64_t ttl = 0, std::uint32_t flags = 0);
  boost::asio::awaitable<Result> del(std::string_view key);
  // Sends every request and an mn in one write, and reads the replies up to
  // the MN: quiet requests answer only when they have something to say.
  boost::asio::awaitable<BatchResult> batch(std::span<const Request> requests);
  // A raw text-protocol exchange: sends `request`, reads until the reply
  // ends with `terminator` (e.g. "END\r\n").
  boost::asio::awaitable<Result> text(std::string_view request, std::string_view terminator);

  boost::asio::ip::tcp::socket& socket() { return socket_; }

 private:
  boost::asio::awaitable<bool> fill();  // reads more bytes; false on EOF/error
  boost::asio::awaitable<std::optional<Error>> send(std::string_view bytes);
  // Parses replies from the bytes received, reading more until `parse`
  // (a ReadResult(std::string_view)) completes or fails.
  template <typename Parse>
  boost::asio::awaitable<std::optional<Error>> receive(Parse parse);

  boost::asio::ip::tcp::socket socket_;
  std::string out_;
  std::string in_;  // received, not yet parsed: in_[start_, end)
  std::size_t start_ = 0;
  std::optional<Error> io_error_;
};

}  // namespace memcoro::client
