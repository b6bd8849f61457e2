#pragma once
// The admin port: HTTP/1.1 (Boost.Beast) on its own thread and io_context,
// so that a slow or hostile admin client never slows the cache.
//
//   GET  /stats /stats/slabs /stats/items /stats/sizes /stats/conns
//        /stats/settings                  JSON, memcached's field names
//        /stats/latency /stats/hotkeys    JSON, `stats latency`, `stats hotkeys`
//        /stats/history                   JSON, the last 15 minutes (history.hpp)
//   POST /stats/reset
//   GET  /metrics                          Prometheus, memcached_exporter names,
//                                          and memcoro_command_duration_seconds
//   GET  /healthz /readyz
//   GET  /config   PUT /config   POST /config/reload
//   POST /api/command                      one text-protocol command (console.hpp)
//   GET  /api/session                      WebSocket: a text-protocol session
//   GET  /                                 the dashboard
// Every request but the probes and /metrics must name a loopback host, the
// address it arrived on, or one of Options::allowed_hosts in its Host header
// (DNS rebinding). Requests that change state must also carry "Content-Type:
// application/json" (which a page on another site cannot send without a CORS
// preflight, and none is ever approved), no Origin naming another site, and
// "Authorization: Bearer <token>" when a token is configured; without a
// token, they must come from a loopback peer. No Access-Control-* header is
// sent.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "memcoro/stats/latency.hpp"
#include "memcoro/stats/sink.hpp"

using SSL_CTX = struct ssl_ctx_st;

namespace memcoro::admin {

struct Reply {
  int status = 200;
  std::string body;  // JSON unless content_type says otherwise
  std::string content_type = "application/json";
  // GET /api/session passed its checks: the connection becomes a console
  // WebSocket, whose first message must be the token when `locked`.
  enum class Upgrade : unsigned char { none, console, console_locked } upgrade = Upgrade::none;
};

// A console session (console.hpp): the text protocol run as a cache
// connection would run it, on the admin thread.
class Console {
 public:
  virtual ~Console() = default;
  struct Result {
    std::string reply;
    bool waiting = false;    // the request is not whole: a data block is missing
    bool closed = false;     // `quit`, or an error memcached closes on
    bool truncated = false;  // the reply was cut at `limit`
  };
  virtual Result run(std::string_view wire, std::size_t limit) = 0;
};

// What the admin port asks of the rest of the process.
class Backend {
 public:
  virtual ~Backend() = default;
  // The `stats [report]` report ("" general, "slabs", "items", "sizes",
  // "settings", "conns"), each stat emitted into `sink`.
  virtual void stats(std::string_view report, stats::Sink& sink) = 0;
  // The latency histograms since the last reset (for /metrics).
  virtual stats::LatencySnapshot latency() { return {}; }
  virtual void reset_stats() = 0;
  virtual bool ready() = 0;  // the cache port accepts connections
  virtual std::string config_json() = 0;
  virtual Reply put_config(std::string_view body) = 0;
  virtual Reply reload_config() = 0;
  // A console session for the admin client at `addr` (connected to
  // `listen_addr` on descriptor `fd`); null: the console is not offered.
  virtual std::unique_ptr<Console> open_console(const std::string& /*addr*/,
                                                const std::string& /*listen_addr*/, int /*fd*/) {
    return nullptr;
  }
  // The cache port asks clients to authenticate (-S, -Y): then the console
  // needs the admin token, or it would be a way around that.
  virtual bool cache_requires_auth() { return false; }
};

struct Options {
  std::string listen = "127.0.0.1";
  std::uint16_t port = 11212;
  std::string token;                       // empty: no authorization needed
  std::vector<std::string> allowed_hosts;  // Host names accepted besides loopback
  std::size_t max_connections = 1024;
  std::chrono::seconds timeout{10};  // to read one request
  std::size_t body_limit = 64 * 1024;
  // HTTPS (admin_tls): the TLS context for each new connection, with a
  // reference for the server to own; unset or null: plain HTTP.
  std::function<SSL_CTX*()> tls_context;
};

// One request, as handle() needs it.
struct Request {
  std::string_view method;
  std::string_view target;
  std::string_view host;  // "" when absent
  std::string_view origin;
  std::string_view content_type;
  std::string_view authorization;
  std::string_view body;
  std::string_view local_address;  // the address the connection arrived on
  bool http11 = true;              // HTTP/1.1 requires a Host header
  bool peer_loopback = true;       // the client connected from this machine's loopback
  bool websocket = false;          // an Upgrade: websocket request
  // The connection, for a console session: its descriptor and both ends
  // as `stats conns` shows them.
  int fd = -1;
  std::string_view peer_text;
  std::string_view local_text;
};

class History;  // history.hpp

// Answers one request; the HTTP server's core, testable without sockets.
// history: what /stats/history serves (the server's own; null: no route).
Reply handle(Backend& backend, const Options& options, const Request& request,
             const History* history = nullptr);

class Server {
 public:
  Server(Options options, Backend& backend);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  std::string bind();  // "" or the error
  void start();        // serves on its own thread
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace memcoro::admin
