#include "memcoro/client/connection.hpp"

#include <boost/asio.hpp>

namespace memcoro::client {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

Connection::Connection(tcp::socket socket) : socket_(std::move(socket)) {
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
}

awaitable<Connection> Connection::connect(std::string host, std::uint16_t port) {
  auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  co_await socket.async_connect(tcp::endpoint(asio::ip::make_address(host), port),
                                asio::use_awaitable);
  co_return Connection(std::move(socket));
}

awaitable<bool> Connection::fill() {
  if (start_ > 0 && start_ == in_.size()) {
    in_.clear();
    start_ = 0;
  }
  char buf[16 * 1024];
  auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), use_nothrow);
  if (ec || n == 0) {
    io_error_ = Error{Error::Kind::io, ec ? ec.message() : "connection closed"};
    co_return false;
  }
  in_.append(buf, n);
  co_return true;
}

awaitable<std::optional<Error>> Connection::send(std::string_view bytes) {
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes), use_nothrow);
  if (ec) co_return Error{Error::Kind::io, ec.message()};
  co_return std::nullopt;
}

template <typename Parse>
awaitable<std::optional<Error>> Connection::receive(Parse parse) {
  for (;;) {
    ReadResult r = parse(std::string_view(in_).substr(start_));
    if (r.status != ReadStatus::need_more) {
      start_ += r.consumed;
      co_return r.error;
    }
    if (!co_await fill()) co_return io_error_;
  }
}

awaitable<Result> Connection::execute(const Request& req) {
  out_.clear();
  write_request(req, out_);
  Result result;
  result.error = co_await send(out_);
  if (!result.error) {
    result.error =
        co_await receive([&](std::string_view in) { return read_response(in, result.response); });
  }
  co_return result;
}

awaitable<Result> Connection::get(std::string_view key) {
  co_return co_await execute(
      Request::get(key).return_value().return_flags().return_cas().return_ttl());
}

awaitable<Result> Connection::set(std::string_view key, std::string_view value, std::int64_t ttl,
                                  std::uint32_t flags) {
  Request req = Request::set(key, value);
  if (ttl != 0) req.ttl(ttl);
  if (flags != 0) req.client_flags(flags);
  co_return co_await execute(req);
}

awaitable<Result> Connection::del(std::string_view key) {
  co_return co_await execute(Request::del(key));
}

awaitable<BatchResult> Connection::batch(std::span<const Request> requests) {
  out_.clear();
  for (const Request& req : requests) write_request(req, out_);
  write_request(Request::noop(), out_);
  BatchResult result;
  result.error = co_await send(out_);
  if (!result.error) {
    result.error =
        co_await receive([&](std::string_view in) { return read_batch(in, result.responses); });
  }
  co_return result;
}

awaitable<Result> Connection::text(std::string_view request, std::string_view terminator) {
  Result result;
  result.error = co_await send(request);
  if (!result.error) {
    result.error = co_await receive([&](std::string_view in) {
      ReadResult r;
      const std::size_t at = in.find(terminator);
      if (at != std::string_view::npos) {
        r.status = ReadStatus::complete;
        r.consumed = at + terminator.size();
        result.response.status = Status::ok;
        result.response.value.assign(in.substr(0, r.consumed));
      }
      return r;
    });
  }
  co_return result;
}

}  // namespace memcoro::client
