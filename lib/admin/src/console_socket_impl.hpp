#pragma once
// console_socket()'s definition, for the two files that instantiate it.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "console.hpp"
#include "console_socket.hpp"
#include "guard.hpp"

namespace memcoro::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::awaitable;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// A console WebSocket that receives nothing for this long is closed (after
// a ping at half of it goes unanswered).
constexpr std::chrono::seconds kConsoleIdle{300};

template <typename WebSocket>
awaitable<bool> ws_send(WebSocket& ws, const nlohmann::json& j) {
  ws.text(true);
  const std::string out = dump_json(j);
  auto [ec, n] = co_await ws.async_write(asio::buffer(out), use_nothrow);
  co_return !ec;
}

}  // namespace

template <typename Stream>
awaitable<void> console_socket(Stream stream, http::request<http::string_body> req,
                               ConsoleSocket how) {
  const Options& options = how.options;
  bool locked = how.locked;
  websocket::stream<Stream> ws(std::move(stream));
  websocket::stream_base::timeout timeouts =
      websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.handshake_timeout = options.timeout;
  timeouts.idle_timeout = kConsoleIdle;  // a ping at half of it; a peer that never answers goes
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "memcoro"); }));
  ws.read_message_max(options.body_limit);
  auto [ec] = co_await ws.async_accept(req, use_nothrow);
  if (ec) co_return;
  std::unique_ptr<Console> console;
  auto open = [&]() -> bool {
    console = how.backend.open_console(how.peer, how.local, how.fd);
    return console != nullptr;
  };
  if (!locked && !open()) co_return;
  const nlohmann::json hello = {{"console", "memcoro"}, {"token_required", locked}};
  if (!co_await ws_send(ws, hello)) co_return;
  beast::flat_buffer buffer;
  for (;;) {
    buffer.clear();
    auto [rec, n] = co_await ws.async_read(buffer, use_nothrow);
    if (rec) break;  // closed, too large (a close frame went out), timed out
    const std::string text = beast::buffers_to_string(buffer.data());
    nlohmann::json message = nlohmann::json::parse(text, nullptr, false);
    const bool is_object = !message.is_discarded() && message.is_object();
    if (locked) {
      const auto token = is_object ? message.find("token") : message.end();
      if (!is_object || token == message.end() || !token->is_string() ||
          !token_matches(options, token->get_ref<const std::string&>()) || !open()) {
        const nlohmann::json refused = {
            {"error", "the first message must be {\"token\": \"...\"}, the admin token"}};
        co_await ws_send(ws, refused);
        co_await ws.async_close(websocket::close_code::policy_error, use_nothrow);
        break;
      }
      locked = false;
      const nlohmann::json welcome = {{"authenticated", true}};
      if (!co_await ws_send(ws, welcome)) break;
      continue;
    }
    // A message is the command line itself, or {"command": "..."}.
    std::string command = text;
    if (is_object) {
      const auto c = message.find("command");
      if (c == message.end() || !c->is_string()) {
        const nlohmann::json refused = {
            {"error", "a message is a command line or {\"command\": \"...\"}"}};
        if (!co_await ws_send(ws, refused)) break;
        continue;
      }
      command = c->get<std::string>();
    }
    const ConsoleAnswer a = run_console_command(*console, command);
    if (!co_await ws_send(ws, a.body)) break;
    if (a.closed) {
      co_await ws.async_close(websocket::close_code::normal, use_nothrow);
      break;
    }
  }
}

}  // namespace memcoro::admin
