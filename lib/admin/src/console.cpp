#include "console.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "guard.hpp"

namespace memcoro::admin {
namespace {

// The next space-separated token of `s` from `pos`; "" at the end.
std::string_view next_token(std::string_view s, std::size_t& pos) {
  while (pos < s.size() && s[pos] == ' ') ++pos;
  const std::size_t start = pos;
  while (pos < s.size() && s[pos] != ' ') ++pos;
  return s.substr(start, pos - start);
}

// How many fields follow a storage command's name before its value (key,
// flags, exptime, and cas's unique); 0: not a storage command.
std::size_t storage_fields(std::string_view name) {
  static constexpr std::array<std::string_view, 5> kStores = {"set", "add", "replace", "append",
                                                              "prepend"};
  if (std::find(kStores.begin(), kStores.end(), name) != kStores.end()) return 3;
  return name == "cas" ? 4 : 0;
}

bool is_number(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "VALUE <key> <flags> <bytes> [<cas>]" or "VA <bytes> <flags>*": the
// header's fields, and the value's length (npos: not a value header).
std::size_t value_header(std::string_view line, nlohmann::json& entry) {
  std::size_t pos = 0;
  const std::string_view kind = next_token(line, pos);
  std::uint64_t bytes = 0;
  auto number = [](std::string_view t, std::uint64_t& v) {
    return !t.empty() &&
           std::from_chars(t.data(), t.data() + t.size(), v).ptr == t.data() + t.size();
  };
  if (kind == "VALUE") {
    const std::string_view key = next_token(line, pos);
    const std::string_view flags = next_token(line, pos);
    std::uint64_t f = 0;
    if (key.empty() || !number(flags, f) || !number(next_token(line, pos), bytes)) {
      return std::string_view::npos;
    }
    entry = {{"key", std::string(key)}, {"flags", f}, {"bytes", bytes}};
    if (std::uint64_t cas = 0; number(next_token(line, pos), cas)) entry["cas"] = cas;
    return bytes;
  }
  if (kind == "VA") {
    if (!number(next_token(line, pos), bytes)) return std::string_view::npos;
    nlohmann::json flags = nlohmann::json::array();
    for (std::string_view t = next_token(line, pos); !t.empty(); t = next_token(line, pos)) {
      flags.push_back(std::string(t));
    }
    entry = {{"bytes", bytes}, {"flags", std::move(flags)}};
    return bytes;
  }
  return std::string_view::npos;
}

}  // namespace

std::string console_wire(std::string_view command, std::string& wire) {
  if (command.find_first_not_of(' ') == std::string_view::npos) return "empty command";
  if (command.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return "one command line, without CR, LF or NUL bytes";
  }
  std::size_t pos = 0;
  const std::string_view name = next_token(command, pos);
  const std::size_t count = storage_fields(name);
  std::array<std::string_view, 4> fields{};
  bool whole = count > 0;
  for (std::size_t i = 0; i < count && whole; ++i) {
    fields[i] = next_token(command, pos);
    whole = !fields[i].empty();
  }
  wire.clear();
  if (!whole) {  // sent as it is (a short storage line gets memcached's ERROR)
    wire.append(command).append("\r\n");
    return "";
  }
  // memcached's order: <cmd> <key> <flags> <exptime> <bytes> [<cas unique>].
  const std::string_view value = pos < command.size() ? command.substr(pos + 1) : "";
  wire.append(name);
  for (std::size_t i = 0; i < 3; ++i) wire.append(" ").append(fields[i]);
  wire.append(" ").append(std::to_string(value.size()));
  if (count == 4) wire.append(" ").append(fields[3]);
  wire.append("\r\n").append(value).append("\r\n");
  return "";
}

nlohmann::json parse_reply(std::string_view raw) {
  nlohmann::json parsed = nlohmann::json::object();
  nlohmann::json values = nlohmann::json::array();
  nlohmann::json stats = nlohmann::json::object();
  nlohmann::json lines = nlohmann::json::array();
  std::string status;
  while (!raw.empty()) {
    const std::size_t eol = raw.find("\r\n");
    const std::string_view line = raw.substr(0, eol);
    raw.remove_prefix(eol == std::string_view::npos ? raw.size() : eol + 2);
    nlohmann::json entry;
    if (const std::size_t n = value_header(line, entry); n != std::string_view::npos) {
      entry["value"] = std::string(raw.substr(0, n));
      raw.remove_prefix(std::min(raw.size(), n + 2));
      values.push_back(std::move(entry));
      continue;
    }
    if (line.starts_with("STAT ")) {
      const std::string_view rest = line.substr(5);
      const std::size_t sp = rest.find(' ');
      stats[std::string(rest.substr(0, sp))] =
          sp == std::string_view::npos ? "" : std::string(rest.substr(sp + 1));
      continue;
    }
    status = std::string(line);
    lines.push_back(status);
    for (std::string_view kind : {"ERROR", "CLIENT_ERROR", "SERVER_ERROR"}) {
      if (line == kind || line.starts_with(std::string(kind) + " ")) {
        parsed["error"] = {
            {"kind", std::string(kind)},
            {"message", std::string(line.substr(std::min(line.size(), kind.size() + 1)))}};
      }
    }
  }
  if (!values.empty()) parsed["values"] = std::move(values);
  if (!stats.empty()) parsed["stats"] = std::move(stats);
  if (!lines.empty()) parsed["lines"] = std::move(lines);
  if (!status.empty()) {
    parsed["status"] = status;
    if (is_number(status)) parsed["number"] = std::stoull(status);
  }
  return parsed;
}

ConsoleAnswer run_console_command(Console& console, std::string_view command) {
  ConsoleAnswer a;
  std::string wire;
  if (std::string why = console_wire(command, wire); !why.empty()) {
    a.status = 400;
    a.body = {{"error", why}};
    return a;
  }
  const Console::Result r = console.run(wire, kConsoleReplyLimit);
  a.body = {{"command", std::string(command)}, {"raw", r.reply}, {"parsed", parse_reply(r.reply)}};
  a.body["ok"] = !r.truncated && !r.waiting && !a.body["parsed"].contains("error");
  if (r.waiting) a.body["waiting"] = true;
  if (r.truncated) a.body["truncated"] = true;
  if (r.closed) a.body["closed"] = true;
  a.waiting = r.waiting;
  a.closed = r.closed;
  return a;
}

std::string dump_json(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Reply console_command(Backend& backend, const Request& r) {
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return error_reply(400, "the body is not a JSON object");
  const auto it = body.find("command");
  if (it == body.end() || !it->is_string()) {
    return error_reply(400, "the body needs \"command\": a text-protocol command line");
  }
  const std::unique_ptr<Console> console =
      backend.open_console(std::string(r.peer_text), std::string(r.local_text), r.fd);
  if (!console) return error_reply(404, "no console on this server");
  ConsoleAnswer a = run_console_command(*console, it->get_ref<const std::string&>());
  if (a.waiting) {
    a.status = 400;
    a.body["error"] =
        "the command waits for a data block, which a single request cannot send: give "
        "storage commands their value inline (set <key> <flags> <exptime> <value>), or use "
        "the WebSocket session";
  }
  return {a.status, dump_json(a.body)};
}

std::optional<Reply> refuse_console(Backend& backend, const Options& options) {
  if (options.token.empty() && backend.cache_requires_auth()) {
    return error_reply(403,
                       "the cache port asks clients to authenticate (-S or -Y), so the console "
                       "needs a token: start memcoro with admin_token_file");
  }
  return std::nullopt;
}

}  // namespace memcoro::admin
