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
