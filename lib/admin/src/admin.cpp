#include "memcoro/admin/admin.hpp"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <utility>

#include "console.hpp"
#include "console_socket.hpp"
#include "guard.hpp"
#include "memcoro/admin/history.hpp"
#include "memcoro/log/logger.hpp"
#include "memcoro/stats/json_sink.hpp"
#include "memcoro/stats/latency_views.hpp"
#include "memcoro/stats/prometheus_sink.hpp"

namespace memcoro::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::awaitable;
using asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

std::string_view dashboard_html();  // dashboard.cpp

namespace {

// An IPv4 client of a dual-stack listener as IPv4.
asio::ip::address unmapped(asio::ip::address a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  }
  return a;
}

// As `stats conns` shows addresses.
std::string describe(const tcp::endpoint& ep) {
  return log::describe_tcp(unmapped(ep.address()).to_string(), ep.port());
}

}  // namespace

Reply handle(Backend& backend, const Options& options, const Request& r, const History* history) {
  const std::string_view method = r.method;
  std::string_view path = r.target.substr(0, r.target.find('?'));
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const bool get = method == "GET" || method == "HEAD";
  // Probes and the Prometheus scrape answer under any Host: schedulers and
  // scrapers address the port by whatever name their network gives it, and
  // these pages say nothing a rebound page could use (no keys, no client
  // addresses, no settings) and change nothing.
  if (get && (path == "/healthz" || path == "/readyz" || path == "/metrics")) {
    if (path == "/metrics") {
      stats::PrometheusSink metrics;
      for (const char* report : {"", "slabs", "items"}) backend.stats(report, metrics);
      std::string text = metrics.text();
      stats::append_latency_histograms(text, backend.latency());
      return {200, std::move(text), "text/plain; version=0.0.4; charset=utf-8"};
    }
    if (path == "/healthz") return {200, "ok\n", "text/plain"};
    return backend.ready() ? Reply{200, "ready\n", "text/plain"}
                           : Reply{503, "not accepting connections\n", "text/plain"};
  }
  // The Host check comes first for everything else, reads too: a page whose
  // DNS name was rebound to this address must not read the stats either.
  std::optional<Authority> host;
  if (!r.host.empty()) {
    host = parse_authority(r.host);
    if (!host) return error_reply(400, "bad Host header");
    if (!host_allowed(*host, options.allowed_hosts, r.local_address)) {
      return error_reply(403, "Host '" + std::string(r.host) +
                                  "' is not allowed on the admin port; use a loopback address "
                                  "or add it to admin_allowed_hosts");
    }
  } else if (r.http11) {
    return error_reply(400, "Host header required");
  }
  // A CORS preflight gets no Access-Control-* header, so the browser does
  // not send the request it asked about.
  if (method == "OPTIONS") return {204, "", "text/plain"};

  using Shape = stats::JsonSink::Shape;
  struct View {
    std::string_view path, report;
    Shape shape;
  };
  static constexpr View kViews[] = {
      {"/stats", "", Shape::flat},
      {"/stats/slabs", "slabs", Shape::classes},
      {"/stats/items", "items", Shape::classes},
      {"/stats/sizes", "sizes", Shape::flat},
      {"/stats/settings", "settings", Shape::flat},
      {"/stats/conns", "conns", Shape::connections},
      {"/stats/latency", "latency", Shape::flat},
      {"/stats/hotkeys", "hotkeys", Shape::flat},
  };
  for (const View& v : kViews) {
    if (path != v.path) continue;
    if (!get) return error_reply(405, "use GET");
    stats::JsonSink json(v.shape);
    backend.stats(v.report, json);
    return {200, json.dump() + "\n"};
  }
  if (path == "/stats/history" && history != nullptr) {
    if (!get) return error_reply(405, "use GET");
    return {200, history->json()};
  }
  if (path == "/metrics" || path == "/healthz" || path == "/readyz") {
    return error_reply(405, "use GET");
  }
  if (path == "/" || path == "/index.html") {
    if (!get) return error_reply(405, "use GET");
    return {200, std::string(dashboard_html()), "text/html; charset=utf-8"};
  }
  // The console: the text protocol, guarded as changes are.
  if (path == "/api/command") {
    if (method != "POST") return error_reply(405, "use POST");
    if (auto refused = refuse_change(options, r, host)) return *refused;
    if (auto refused = refuse_console(backend, options)) return *refused;
    return console_command(backend, r);
  }
  if (path == "/api/session") {
    if (!get) return error_reply(405, "use GET with Upgrade: websocket");
    if (!r.websocket) return error_reply(426, "a WebSocket upgrade is required");
    // A browser always sends Origin with a WebSocket handshake, and no
    // preflight: Origin is what stops another site's page here.
    if (auto refused = refuse_origin(r, host)) return *refused;
    if (auto refused = refuse_remote_without_token(options, r, "console sessions")) {
      return *refused;
    }
    if (auto refused = refuse_console(backend, options)) return *refused;
    // A browser cannot set Authorization on a WebSocket: without it, the
    // session's first message must carry the token.
    if (!r.authorization.empty() && !authorized(options, r.authorization)) {
      return error_reply(401, "bearer token required");
    }
    Reply up{101, "", "text/plain"};
    up.upgrade = options.token.empty() || !r.authorization.empty() ? Reply::Upgrade::console
                                                                   : Reply::Upgrade::console_locked;
    return up;
  }
  // Changes: method, then origin, content type and token.
  if (path == "/stats/reset") {
    if (method != "POST") return error_reply(405, "use POST");
    if (auto refused = refuse_change(options, r, host)) return *refused;
    backend.reset_stats();
    return {200, nlohmann::json{{"reset", true}}.dump(2) + "\n"};
  }
  if (path == "/config") {
    if (get) return {200, backend.config_json() + "\n"};
    if (method != "PUT") return error_reply(405, "use GET or PUT");
    if (auto refused = refuse_change(options, r, host)) return *refused;
    return backend.put_config(r.body);
  }
  if (path == "/config/reload") {
    if (method != "POST") return error_reply(405, "use POST");
    if (auto refused = refuse_change(options, r, host)) return *refused;
    return backend.reload_config();
  }
  return error_reply(404, "no such endpoint");
}

struct Server::Impl {
  Options options;
  Backend& backend;
  asio::io_context ctx{1};
  tcp::acceptor acceptor{ctx};
  std::thread thread;
  std::atomic<std::size_t> sessions{0};

  // One admin connection's place under max_connections, taken at accept and
  // given back when the last owner (the handshake, then the session) ends.
  class Slot {
   public:
    explicit Slot(std::atomic<std::size_t>& n) : n_(&n) { ++n; }
    Slot(Slot&& o) noexcept : n_(std::exchange(o.n_, nullptr)) {}
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (n_ != nullptr) --*n_;
    }

   private:
    std::atomic<std::size_t>* n_;
  };
  History history;

  Impl(Options o, Backend& b) : options(std::move(o)), backend(b) {}

  // One history sample a second, on this thread: never the cache's.
  awaitable<void> sample_loop() {
    asio::steady_timer timer(ctx);
    auto last = std::chrono::steady_clock::now();
    for (;;) {
      timer.expires_after(std::chrono::seconds(1));
      auto [ec] = co_await timer.async_wait(use_nothrow);
      if (ec) co_return;
      const auto now = std::chrono::steady_clock::now();
      history.sample(backend, static_cast<std::int64_t>(std::time(nullptr)),
                     std::chrono::duration<double>(now - last).count());
      last = now;
    }
  }

  awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(use_nothrow);
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        asio::steady_timer t(ctx, std::chrono::milliseconds(10));
        co_await t.async_wait(use_nothrow);
        continue;
      }
      if (sessions.load() >= options.max_connections) {
        boost::system::error_code ignored;
        sock.close(ignored);  // too many admin clients: drop, never queue
        continue;
      }
      Slot slot(sessions);
      SSL_CTX* tls = options.tls_context ? options.tls_context() : nullptr;
      if (tls == nullptr) {
        asio::co_spawn(ctx, session(beast::tcp_stream(std::move(sock)), std::move(slot)),
                       asio::detached);
      } else {
        asio::co_spawn(ctx, tls_session(std::move(sock), tls, std::move(slot)), asio::detached);
      }
    }
  }

  template <typename Body, typename Stream>
  awaitable<bool> send(Stream& stream, http::response<Body>& res) {
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(options.timeout);
    auto [ec, n] = co_await http::async_write(stream, res, use_nothrow);
    co_return !ec;
  }

  // HTTPS: the handshake, within the request timeout, then as plain HTTP.
  // `tls` is a reference of the caller's; the context owns it from here.
  awaitable<void> tls_session(tcp::socket sock, SSL_CTX* tls, Slot slot) {
    asio::ssl::context context(tls);
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(sock)), context);
    beast::get_lowest_layer(stream).expires_after(options.timeout);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_nothrow);
    if (ec) co_return;
    co_await session(std::move(stream), std::move(slot));
  }

  template <typename Stream>
  awaitable<void> session(Stream stream, [[maybe_unused]] Slot slot) {
    auto& tcp_layer = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options.body_limit);
      parser.header_limit(16 * 1024);
      tcp_layer.expires_after(options.timeout);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_nothrow);
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == asio::error::operation_aborted) {
        break;  // gone, or too slow: the stream is closed
      }
      if (ec) {
        const bool too_large = ec == http::error::body_limit || ec == http::error::header_limit ||
                               ec == http::error::buffer_overflow;
        http::response<http::string_body> res{
            too_large ? http::status::payload_too_large : http::status::bad_request, 11};
        res.set(http::field::content_type, "application/json");
        res.body() =
            too_large ? "{\"error\": \"request too large\"}\n" : "{\"error\": \"bad request\"}\n";
        res.keep_alive(false);
        co_await send(stream, res);
        break;
      }
      auto& req = parser.get();
      Reply reply;
      if (req.count(http::field::host) > 1 || req.count(http::field::origin) > 1) {
        reply = error_reply(400, "more than one Host or Origin header");
      } else {
        boost::system::error_code local_ec;
        const tcp::endpoint local_ep = tcp_layer.socket().local_endpoint(local_ec);
        const std::string local = local_ep.address().to_string();
        boost::system::error_code peer_ec;
        const tcp::endpoint peer_ep = tcp_layer.socket().remote_endpoint(peer_ec);
        const asio::ip::address peer = unmapped(peer_ep.address());
        const std::string peer_text = describe(peer_ep);
        const std::string local_text = "console:" + describe(local_ep);
        const Request request{
            .method = std::string_view(req.method_string()),
            .target = std::string_view(req.target()),
            .host = std::string_view(req[http::field::host]),
            .origin = std::string_view(req[http::field::origin]),
            .content_type = std::string_view(req[http::field::content_type]),
            .authorization = std::string_view(req[http::field::authorization]),
            .body = req.body(),
            .local_address = local_ec ? std::string_view{} : std::string_view(local),
            .http11 = req.version() >= 11,
            .peer_loopback = !peer_ec && peer.is_loopback(),
            .websocket = websocket::is_upgrade(req),
            .fd = tcp_layer.socket().native_handle(),
            .peer_text = peer_text,
            .local_text = local_text};
        reply = handle(backend, options, request, &history);
        if (reply.upgrade != Reply::Upgrade::none) {
          tcp_layer.expires_never();  // the WebSocket keeps its own timeouts
          // (Named, not a temporary in the co_await: GCC 12 destroys such
          // a temporary aggregate twice.)
          ConsoleSocket how{backend,   options,    reply.upgrade == Reply::Upgrade::console_locked,
                            peer_text, local_text, request.fd};
          co_await console_socket(std::move(stream), std::move(req), std::move(how));
          co_return;
        }
      }
      http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
      res.set(http::field::server, "memcoro");
      res.set(http::field::content_type, reply.content_type);
      res.set(http::field::cache_control, "no-store");
      res.keep_alive(req.keep_alive());
      if (req.method() != http::verb::head) res.body() = std::move(reply.body);
      if (!co_await send(stream, res) || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    tcp_layer.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
};

Server::Server(Options options, Backend& backend)
    : impl_(std::make_unique<Impl>(std::move(options), backend)) {}

Server::~Server() {
  stop();
}

std::string Server::bind() {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(impl_->options.listen, ec);
  if (ec) return "'" + impl_->options.listen + "' is not an IP address";
  const tcp::endpoint ep(addr, impl_->options.port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  return ec ? ec.message() : std::string{};
}

void Server::start() {
  asio::co_spawn(impl_->ctx, impl_->accept_loop(), asio::detached);
  asio::co_spawn(impl_->ctx, impl_->sample_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ctx.run(); });
}

void Server::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->ctx.stop();
  impl_->thread.join();
}

}  // namespace memcoro::admin
