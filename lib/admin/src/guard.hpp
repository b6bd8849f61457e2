#pragma once
// The admin port's guard against other web sites: which Host a request may
// name (DNS rebinding), whether its Origin is the admin port's own, and
// whether its body type is one a page cannot send cross-site without a CORS
// preflight.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "memcoro/admin/admin.hpp"

namespace memcoro::admin {

// "host[:port]", as in a Host header or an origin: host lowercased, IPv6
// without brackets, no trailing dot; port "" when absent.
struct Authority {
  std::string host;
  std::string port;
};
std::optional<Authority> parse_authority(std::string_view text);

// Loopback ("localhost", 127.0.0.0/8, ::1), the address the connection
// arrived on (a literal address cannot be rebound), or one of `allowed`.
bool host_allowed(const Authority& host, const std::vector<std::string>& allowed,
                  std::string_view local_address);

// `origin` ("http://host:port") names the same host and port as the Host
// header; "null" and anything unparseable do not.
bool same_origin(std::string_view origin, const Authority& host);

// The media type is application/json (parameters such as charset aside).
bool is_json(std::string_view content_type);

// The rules every request that changes something passes (admin.hpp).
// The Authorization header carries the token, or none is configured.
bool authorized(const Options& options, std::string_view authorization);
// The token itself, compared in constant time (the console's first message
// may carry it).
bool token_matches(const Options& options, std::string_view token);
// Why a request that changes state is refused, or nullopt: an Origin that
// is not this port, a body that is not JSON, no token from another host, a
// wrong token. `host`: the request's parsed Host header.
std::optional<Reply> refuse_change(const Options& options, const Request& r,
                                   const std::optional<Authority>& host);
// Without a token, only clients on this machine's loopback may do `what`
// ("changes", "the console"); a refusal naming it, or nullopt.
std::optional<Reply> refuse_remote_without_token(const Options& options, const Request& r,
                                                 std::string_view what);
// An Origin that names another site (absent is fine), as a refusal.
std::optional<Reply> refuse_origin(const Request& r, const std::optional<Authority>& host);
Reply error_reply(int status, std::string_view message);

}  // namespace memcoro::admin
