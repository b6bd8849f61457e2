#include "guard.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <nlohmann/json.hpp>

namespace memcoro::admin {
namespace {

namespace ip = boost::asio::ip;

std::optional<ip::address> as_address(const std::string& host) {
  boost::system::error_code ec;
  ip::address a = ip::make_address(host, ec);
  if (ec) return std::nullopt;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    a = ip::make_address_v4(ip::v4_mapped, a.to_v6());
  }
  return a;
}

bool same_host(const std::string& a, const std::string& b) {
  const auto aa = as_address(a);
  const auto ab = as_address(b);
  if (aa && ab) return *aa == *ab;
  return a == b;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::optional<Authority> parse_authority(std::string_view text) {
  Authority out;
  std::string_view rest;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = lower(text.substr(1, close - 1));
    rest = text.substr(close + 1);
    if (!as_address(out.host) || out.host.find(':') == std::string::npos) return std::nullopt;
  } else {
    const std::size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      return std::nullopt;  // an IPv6 address needs brackets
    }
    out.host = lower(text.substr(0, colon));
    if (colon != std::string_view::npos) rest = text.substr(colon);
    const bool name_chars = std::all_of(out.host.begin(), out.host.end(), [](unsigned char c) {
      return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.';
    });
    if (!name_chars) return std::nullopt;
  }
  if (!rest.empty()) {
    if (rest[0] != ':' || rest.size() > 6) return std::nullopt;
    rest.remove_prefix(1);
    if (!std::all_of(rest.begin(), rest.end(), [](unsigned char c) { return std::isdigit(c); })) {
      return std::nullopt;
    }
    out.port = std::string(rest);
  }
  if (out.host.size() > 1 && out.host.back() == '.') out.host.pop_back();
  if (out.host.empty()) return std::nullopt;
  return out;
}

bool host_allowed(const Authority& host, const std::vector<std::string>& allowed,
                  std::string_view local_address) {
  if (host.host == "localhost") return true;
  if (const auto a = as_address(host.host)) {
    if (a->is_loopback()) return true;
    if (const auto local = as_address(std::string(local_address)); local && *local == *a) {
      return true;
    }
  }
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& h) { return same_host(lower(h), host.host); });
}

bool same_origin(std::string_view origin, const Authority& host) {
  const std::size_t sep = origin.find("://");
  if (sep == std::string_view::npos) return false;  // "null", among others
  const std::string scheme = lower(origin.substr(0, sep));
  std::string_view default_port;
  if (scheme == "http") {
    default_port = "80";
  } else if (scheme == "https") {
    default_port = "443";  // a TLS proxy in front of the port
  } else {
    return false;
  }
  const auto o = parse_authority(origin.substr(sep + 3));
  if (!o || !same_host(o->host, host.host)) return false;
  const std::string_view op = o->port.empty() ? default_port : std::string_view(o->port);
  const std::string_view hp = host.port.empty() ? default_port : std::string_view(host.port);
  return op == hp;
}

bool is_json(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  return lower(type) == "application/json";
}

Reply error_reply(int status, std::string_view message) {
  return {status, nlohmann::json{{"error", std::string(message)}}.dump(2) + "\n"};
}

bool token_matches(const Options& options, std::string_view token) {
  // Constant time, so the comparison does not leak the token.
  if (token.size() != options.token.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>(token[i] ^ options.token[i]);
  }
  return diff == 0;
}

bool authorized(const Options& options, std::string_view authorization) {
  if (options.token.empty()) return true;
  constexpr std::string_view kBearer = "Bearer ";
  return authorization.starts_with(kBearer) &&
         token_matches(options, authorization.substr(kBearer.size()));
}

std::optional<Reply> refuse_remote_without_token(const Options& options, const Request& r,
                                                 std::string_view what) {
  if (!options.token.empty() || r.peer_loopback) return std::nullopt;
  return error_reply(403, std::string(what) +
                              " from other hosts need a token: start memcoro with "
                              "admin_token_file (or MEMCORO_ADMIN_TOKEN_FILE)");
}

std::optional<Reply> refuse_origin(const Request& r, const std::optional<Authority>& host) {
  if (!r.origin.empty() && (!host || !same_origin(r.origin, *host))) {
    return error_reply(403, "cross-site request refused: Origin '" + std::string(r.origin) +
                                "' is not this admin port");
  }
  return std::nullopt;
}

// A browser sends a cross-site POST with text/plain (a "simple" request)
// without asking first; application/json needs a CORS preflight, which this
// port never approves. Origin catches what gets through anyway (a same-site
// page on another port, a browser that sends no preflight).
std::optional<Reply> refuse_change(const Options& options, const Request& r,
                                   const std::optional<Authority>& host) {
  if (auto refused = refuse_origin(r, host)) return refused;
  if (!is_json(r.content_type)) {
    return error_reply(415, "changes need Content-Type: application/json");
  }
  if (auto refused = refuse_remote_without_token(options, r, "changes")) return refused;
  if (!authorized(options, r.authorization)) return error_reply(401, "bearer token required");
  return std::nullopt;
}

}  // namespace memcoro::admin
