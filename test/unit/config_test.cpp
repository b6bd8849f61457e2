#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "memcoro/config/settings.hpp"

using namespace memcoro::config;

namespace {
LoadResult load_args(std::vector<std::string> args, Settings& s) {
  args.insert(args.begin(), "memcoro");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return load(static_cast<int>(args.size()), argv.data(), s);
}
}  // namespace

TEST_CASE("defaults") {
  Settings s;
  REQUIRE(load_args({}, s).action == LoadResult::Action::run);
  CHECK(s.port == 11211);
  CHECK(s.listen == "127.0.0.1");
  CHECK(s.conn_limit == 1024u);
  CHECK(s.threads == 4u);
  CHECK(s.memory_limit == 64ull << 20);
  CHECK(s.max_item_size == 1ull << 20);
}

TEST_CASE("memcached's flags") {
  Settings s;
  REQUIRE(load_args({"-p", "1234", "-l", "0.0.0.0", "-c",  "10", "-t", "2",   "-m", "128",
                     "-I", "2m",   "-U", "0",       "-vv", "-M", "-f", "1.5", "-n", "64"},
                    s)
              .action == LoadResult::Action::run);
  CHECK(s.port == 1234);
  CHECK(s.listen == "0.0.0.0");
  CHECK(s.conn_limit == 10u);
  CHECK(s.threads == 2u);
  CHECK(s.memory_limit == 128ull << 20);
  CHECK(s.max_item_size == 2ull << 20);
  CHECK(s.verbosity == 2u);
  CHECK_FALSE(s.evictions);
  CHECK(s.growth_factor == 1.5);
  CHECK(s.chunk_size == 64u);
  Settings l;
  REQUIRE(load_args({"--port=99", "--max-item-size", "512k", "--threads", "3"}, l).action ==
          LoadResult::Action::run);
  CHECK(l.port == 99);
  CHECK(l.max_item_size == 512u * 1024);
  CHECK(l.threads == 3u);
}

TEST_CASE("bad flags and values are refused with a message") {
  for (auto args : std::vector<std::vector<std::string>>{{"-p", "x"},
                                                         {"-p", "70000"},
                                                         {"-U", "1"},
                                                         {"-t", "0"},
                                                         {"-I", "1q"},
                                                         {"-I", "2g"},
                                                         {"-m", "1", "-I", "2m"},
                                                         {"--nope"},
                                                         {"-p"},
                                                         {"stray"}}) {
    Settings s;
    LoadResult r = load_args(args, s);
    INFO(args[0]);
    CHECK(r.action == LoadResult::Action::exit_error);
    CHECK_FALSE(r.message.empty());
  }
}

TEST_CASE("help and version") {
  Settings s;
  LoadResult h = load_args({"-h"}, s);
  CHECK(h.action == LoadResult::Action::exit_ok);
  CHECK(h.message.find("--memory-limit") != std::string::npos);
  CHECK(load_args({"--version"}, s).message.find(std::string(kVersion)) != std::string::npos);
}

TEST_CASE("JSON file under flags") {
  const std::string path = "config_test_settings.json";
  {
    std::ofstream f(path);
    f << R"({"port": 2000, "threads": 2, "max_item_size": "2m", "memory_limit": 256})";
  }
  Settings s;
  REQUIRE(load_args({"--config", path, "-t", "6"}, s).action == LoadResult::Action::run);
  CHECK(s.port == 2000);
  CHECK(s.threads == 6u);  // the flag wins
  CHECK(s.max_item_size == 2ull << 20);
  CHECK(s.memory_limit == 256ull << 20);
  {
    std::ofstream f(path);
    f << R"({"port": "x"})";
  }
  CHECK(load_args({"--config", path}, s).action == LoadResult::Action::exit_error);
  {
    std::ofstream f(path);
    f << R"({"no_such_setting": 1})";
  }
  LoadResult r = load_args({"--config", path}, s);
  CHECK(r.action == LoadResult::Action::exit_error);
  CHECK(r.message.find("no_such_setting") != std::string::npos);
  std::remove(path.c_str());
  CHECK(load_args({"--config", "/nonexistent.json"}, s).action == LoadResult::Action::exit_error);
}

TEST_CASE("apply_json changes nothing when a field is invalid") {
  Settings s;
  CHECK_FALSE(apply_json(s, R"({"port": 5, "threads": 0})").empty());
  CHECK(s.port == 11211);
  CHECK(apply_json(s, "not json") != "");
}

TEST_CASE("admin_allowed_hosts: a flag's comma list or a JSON array, normalized") {
  Settings s;
  REQUIRE(
      load_args({"--admin-allowed-hosts", "Cache.Internal, 10.0.0.5,[FD00::1],name."}, s).action ==
      LoadResult::Action::run);
  CHECK(s.admin_allowed_hosts ==
        std::vector<std::string>{"cache.internal", "10.0.0.5", "fd00::1", "name"});
  Settings j;
  CHECK(apply_json(j, R"({"admin_allowed_hosts": ["a.example", "::1"]})").empty());
  CHECK(j.admin_allowed_hosts == std::vector<std::string>{"a.example", "::1"});
  for (const char* bad : {R"("a.example")", R"([1])", R"(["*.example"])", R"(["a:80"])",
                          R"(["[a]"])", R"(["a b"])", R"([""])"}) {
    Settings b;
    INFO(bad);
    CHECK_FALSE(apply_json(b, std::string(R"({"admin_allowed_hosts": )") + bad + "}").empty());
    CHECK(b.admin_allowed_hosts.empty());
  }
  // Not live: only a restart changes who may reach the admin port.
  const UpdatePlan plan = plan_update(Settings{}, R"({"admin_allowed_hosts": ["x.example"]})");
  REQUIRE(plan.rejected.size() == 1);
  CHECK(plan.rejected[0].needs_restart);
}

TEST_CASE("memory_limit in megabytes past 2^30 is refused, not wrapped") {
  Settings s;
  CHECK_FALSE(apply_json(s, R"({"memory_limit": 17592186044417})").empty());  // 2^44 + 1
  CHECK(s.memory_limit == 64ull << 20);
  CHECK(apply_json(s, R"({"memory_limit": 1073741824})").empty());  // 2^30 MB: the flag's bound
  CHECK(s.memory_limit == 1ull << 50);
}
