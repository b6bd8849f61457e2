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

awaitable<Result> Connection::execute(const Request& req) {
  out_.clear();
  write_request(req, out_);
  Result result;
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(out_), use_nothrow);
  if (ec) {
    result.error = Error{Error::Kind::io, ec.message()};
    co_return result;
  }
  for (;;) {
    ReadResult r = read_response(std::string_view(in_).substr(start_), result.response);
    if (r.status == ReadStatus::complete) {
      start_ += r.consumed;
      co_return result;
    }
    if (r.status == ReadStatus::error) {
      start_ += r.consumed;
      result.error = r.error;
      co_return result;
    }
    if (!co_await fill()) {
      result.error = io_error_;
      co_return result;
    }
  }
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
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(out_), use_nothrow);
  if (ec) {
    result.error = Error{Error::Kind::io, ec.message()};
    co_return result;
  }
  for (;;) {
    ReadResult r = read_batch(std::string_view(in_).substr(start_), result.responses);
    if (r.status == ReadStatus::complete) {
      start_ += r.consumed;
      co_return result;
    }
    if (r.status == ReadStatus::error) {
      start_ += r.consumed;
      result.error = r.error;
      co_return result;
    }
    if (!co_await fill()) {
      result.error = io_error_;
      co_return result;
    }
  }
}

awaitable<Result> Connection::text(std::string_view request, std::string_view terminator) {
  Result result;
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(request), use_nothrow);
  if (ec) {
    result.error = Error{Error::Kind::io, ec.message()};
    co_return result;
  }
  for (;;) {
    const std::string_view pending = std::string_view(in_).substr(start_);
    const std::size_t at = pending.find(terminator);
    if (at != std::string_view::npos) {
      result.response.status = Status::ok;
      result.response.value.assign(pending.substr(0, at + terminator.size()));
      start_ += at + terminator.size();
      co_return result;
    }
    if (!co_await fill()) {
      result.error = io_error_;
      co_return result;
    }
  }
}

}  // namespace memcoro::client
