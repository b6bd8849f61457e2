// The admin port's rules, on handle() (no sockets): who may read what and
// who may change anything. test_admin_security.py sends the same requests
// over real sockets; the container test sends a change from another host.
#include "memcoro/admin/admin.hpp"

#include <catch2/catch.hpp>
#include <string>

namespace {

using memcoro::admin::Reply;
using memcoro::admin::Request;

struct FakeBackend final : memcoro::admin::Backend {
  int changes = 0;
  void stats(std::string_view, memcoro::stats::Sink& sink) override {
    sink.add("curr_items", std::uint64_t{1});
  }
  void reset_stats() override { ++changes; }
  bool ready() override { return true; }
  std::string config_json() override { return "{}"; }
  Reply put_config(std::string_view) override {
    ++changes;
    return {200, "{}"};
  }
  Reply reload_config() override {
    ++changes;
    return {200, "{}"};
  }
  // The console: records what it was sent, answers `reply`.
  struct FakeConsole final : memcoro::admin::Console {
    FakeBackend& backend;
    explicit FakeConsole(FakeBackend& b) : backend(b) {}
    Result run(std::string_view wire, std::size_t) override {
      backend.wire += wire;
      return {backend.reply, backend.waiting, false, false};
    }
  };
  std::unique_ptr<memcoro::admin::Console> open_console(const std::string&, const std::string&,
                                                        int) override {
    return std::make_unique<FakeConsole>(*this);
  }
  bool cache_requires_auth() override { return cache_auth; }
  std::string wire;
  std::string reply = "STORED\r\n";
  bool waiting = false;
  bool cache_auth = false;
};

Request get(std::string_view path, std::string_view host) {
  Request r;
  r.method = "GET";
  r.target = path;
  r.host = host;
  r.local_address = "10.88.0.5";
  return r;
}

Request put_config(std::string_view host, bool peer_loopback, std::string_view authorization = "") {
  Request r = get("/config", host);
  r.method = "PUT";
  r.content_type = "application/json";
  r.body = "{}";
  r.authorization = authorization;
  r.peer_loopback = peer_loopback;
  return r;
}

}  // namespace

TEST_CASE("probes and metrics answer under any Host; the rest only under allowed ones") {
  FakeBackend backend;
  memcoro::admin::Options options;
  for (const char* path : {"/metrics", "/healthz", "/readyz"}) {
    CHECK(handle(backend, options, get(path, "node1:11212")).status == 200);
  }
  for (const char* path : {"/stats", "/stats/conns", "/config", "/"}) {
    CHECK(handle(backend, options, get(path, "node1:11212")).status == 403);
    CHECK(handle(backend, options, get(path, "10.88.0.5:11212")).status == 200);  // arrived on
  }
  options.allowed_hosts = {"node1"};
  CHECK(handle(backend, options, get("/stats", "node1:11212")).status == 200);
}

TEST_CASE("without a token, only loopback peers may change anything") {
  FakeBackend backend;
  memcoro::admin::Options options;
  CHECK(handle(backend, options, put_config("10.88.0.5:11212", false)).status == 403);
  Request reset = put_config("10.88.0.5:11212", false);
  reset.method = "POST";
  reset.target = "/stats/reset";
  CHECK(handle(backend, options, reset).status == 403);
  CHECK(backend.changes == 0);
  CHECK(handle(backend, options, put_config("127.0.0.1:11212", true)).status == 200);
  CHECK(backend.changes == 1);
}

TEST_CASE("with a token, any allowed peer may change with it, and none without") {
  FakeBackend backend;
  memcoro::admin::Options options;
  options.token = "s3cret";
  CHECK(handle(backend, options, put_config("10.88.0.5:11212", false)).status == 401);
  CHECK(handle(backend, options, put_config("127.0.0.1", true, "Bearer wrong")).status == 401);
  CHECK(backend.changes == 0);
  CHECK(handle(backend, options, put_config("10.88.0.5:11212", false, "Bearer s3cret")).status ==
        200);
  CHECK(backend.changes == 1);
}

namespace {

Request command(std::string_view body) {
  Request r = put_config("127.0.0.1:11212", true);
  r.method = "POST";
  r.target = "/api/command";
  r.body = body;
  return r;
}

}  // namespace

TEST_CASE("the console computes a storage command's byte count from its inline value") {
  FakeBackend backend;
  const memcoro::admin::Options options;
  CHECK(handle(backend, options, command(R"({"command": "set k 0 60 hello world"})")).status ==
        200);
  CHECK(backend.wire == "set k 0 60 11\r\nhello world\r\n");
  backend.wire.clear();
  handle(backend, options, command(R"({"command": "cas k 1 0 77 v"})"));
  CHECK(backend.wire == "cas k 1 0 1 77\r\nv\r\n");
  backend.wire.clear();
  handle(backend, options, command(R"({"command": "append k 0 0  two spaces"})"));
  CHECK(backend.wire == "append k 0 0 11\r\n two spaces\r\n");  // the value starts after one space
  backend.wire.clear();
  handle(backend, options, command(R"({"command": "set k 0 0"})"));  // an empty value
  CHECK(backend.wire == "set k 0 0 0\r\n\r\n");
  backend.wire.clear();
  handle(backend, options, command(R"({"command": "set k 0"})"));  // short: memcached answers it
  CHECK(backend.wire == "set k 0\r\n");
  backend.wire.clear();
  backend.reply = "VALUE k 0 11\r\nhello world\r\nEND\r\n";
  const Reply got = handle(backend, options, command(R"({"command": "get k"})"));
  CHECK(backend.wire == "get k\r\n");
  CHECK(got.body.find(R"("value": "hello world")") != std::string::npos);
  CHECK(got.body.find(R"("ok": true)") != std::string::npos);
}

TEST_CASE("the console refuses what it cannot send, and what is not its own") {
  FakeBackend backend;
  memcoro::admin::Options options;
  CHECK(handle(backend, options, command("not json")).status == 400);
  CHECK(handle(backend, options, command(R"({"cmd": "get k"})")).status == 400);
  CHECK(handle(backend, options, command(R"({"command": "get a\r\nflush_all"})")).status == 400);
  CHECK(handle(backend, options, command(R"({"command": "  "})")).status == 400);
  CHECK(backend.wire.empty());
  backend.waiting = true;  // `ms k 5`: its block cannot follow in one request
  CHECK(handle(backend, options, command(R"({"command": "ms k 5"})")).status == 400);
  backend.waiting = false;
  Request r = command(R"({"command": "flush_all"})");
  r.content_type = "text/plain";  // a cross-site "simple" request
  CHECK(handle(backend, options, r).status == 415);
  r = command(R"({"command": "flush_all"})");
  r.origin = "http://evil.example";
  CHECK(handle(backend, options, r).status == 403);
  r = command(R"({"command": "flush_all"})");
  r.method = "GET";
  CHECK(handle(backend, options, r).status == 405);
  backend.cache_auth = true;  // -S or -Y, and no token: the console would go around them
  CHECK(handle(backend, options, command(R"({"command": "get k"})")).status == 403);
  options.token = "s3cret";
  CHECK(handle(backend, options, command(R"({"command": "get k"})")).status == 401);
  r = command(R"({"command": "get k"})");
  r.authorization = "Bearer s3cret";
  CHECK(handle(backend, options, r).status == 200);
}

TEST_CASE("the console's WebSocket: an upgrade, same-origin, and locked until the token") {
  FakeBackend backend;
  memcoro::admin::Options options;
  Request r = get("/api/session", "127.0.0.1:11212");
  r.local_address = "127.0.0.1";
  CHECK(handle(backend, options, r).status == 426);  // not an upgrade
  r.websocket = true;
  CHECK(handle(backend, options, r).upgrade == Reply::Upgrade::console);
  r.origin = "http://127.0.0.1:11212";
  CHECK(handle(backend, options, r).upgrade == Reply::Upgrade::console);
  r.origin = "http://evil.example";
  CHECK(handle(backend, options, r).status == 403);
  r.origin = "";
  r.host = "evil.example";  // DNS rebinding
  CHECK(handle(backend, options, r).status == 403);
  r.host = "127.0.0.1:11212";
  r.peer_loopback = false;  // no token: from this machine only
  CHECK(handle(backend, options, r).status == 403);
  options.token = "s3cret";
  CHECK(handle(backend, options, r).upgrade == Reply::Upgrade::console_locked);
  r.authorization = "Bearer wrong";
  CHECK(handle(backend, options, r).status == 401);
  r.authorization = "Bearer s3cret";
  CHECK(handle(backend, options, r).upgrade == Reply::Upgrade::console);
}
