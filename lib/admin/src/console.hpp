#pragma once
// The console's rules, shared by POST /api/command and the WebSocket
// session (GET /api/session): one command line made into protocol bytes,
// the reply given raw and as JSON, and who may use it.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "memcoro/admin/admin.hpp"

namespace memcoro::admin {

// A reply longer than this is cut (and says so); the session starts over.
inline constexpr std::size_t kConsoleReplyLimit = 4 << 20;

// One command line as the cache port receives it, in `wire`; "" or why the
// line cannot be sent. As the memcached HTTP gateway does, a storage
// command (set, add, replace, append, prepend: `<cmd> <key> <flags>
// <exptime> <value>`; cas: `... <exptime> <cas unique> <value>`) carries
// its value inline and its byte count is computed: the value is the rest of
// the line after one space. Every other line is sent as it is.
std::string console_wire(std::string_view command, std::string& wire);

// The reply as JSON: "values" (VALUE and VA blocks), "stats" (STAT lines),
// "lines" (every other line), "status" (the last line), "error" (an
// ERROR, CLIENT_ERROR or SERVER_ERROR line).
nlohmann::json parse_reply(std::string_view raw);

// Runs one command on `console`: {"command", "raw", "parsed", "ok"} and,
// when they hold, "waiting", "truncated", "closed". status: 200, or 400
// for a line that cannot be sent.
struct ConsoleAnswer {
  int status = 200;
  nlohmann::json body;
  bool waiting = false;
  bool closed = false;
};
ConsoleAnswer run_console_command(Console& console, std::string_view command);

// JSON text that survives bytes that are not UTF-8 (replaced by U+FFFD).
std::string dump_json(const nlohmann::json& j);

// POST /api/command, once its Host, Origin, content type and token passed.
Reply console_command(Backend& backend, const Request& r);

// Why a console (either route) is refused beyond the rules for changes:
// the cache port authenticates its clients (-S, -Y) and no token guards
// the console.
std::optional<Reply> refuse_console(Backend& backend, const Options& options);

}  // namespace memcoro::admin
