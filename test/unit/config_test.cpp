#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "memcoro/config/live.hpp"
#include "memcoro/config/settings.hpp"

using namespace memcoro::config;

namespace {
std::string stats_value(const Settings& s, std::string_view name) {
  for (const auto& [n, v] : stats_settings(s)) {
    if (n == name) return v;
  }
  return "?";
}

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
                                                         {"-U", "70000"},
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

TEST_CASE("listen: memcached's -l list, repeated flags add to it") {
  Settings s;
  REQUIRE(load_args({"-p", "7000", "-l", "10.0.0.1,[::1]:7001", "-l", "host.example:7002", "-l",
                     "fe80::1"},
                    s)
              .action == LoadResult::Action::run);
  CHECK(s.listen == "10.0.0.1,[::1]:7001,host.example:7002,fe80::1");
  std::vector<ListenAddress> a;
  REQUIRE(listen_addresses(s, a).empty());
  REQUIRE(a.size() == 4);
  CHECK((a[0].host == "10.0.0.1" && a[0].port == 7000));
  CHECK((a[1].host == "::1" && a[1].port == 7001));
  CHECK((a[2].host == "host.example" && a[2].port == 7002));
  CHECK((a[3].host == "fe80::1" && a[3].port == 7000));  // no brackets: all of it is the address
  // One -l replaces the default; a JSON value is the whole list.
  Settings one;
  REQUIRE(load_args({"-l", "0.0.0.0"}, one).action == LoadResult::Action::run);
  CHECK(one.listen == "0.0.0.0");
  for (const char* bad : {"1.2.3.4:70000", "1.2.3.4:", "[::1", "[]", ":80", "[::1]x"}) {
    INFO(bad);
    Settings b;
    CHECK(load_args({"-l", bad}, b).action == LoadResult::Action::exit_error);
  }
  // With a unix socket the list is not used (as memcached's -s).
  Settings u;
  REQUIRE(load_args({"-s", "/tmp/x.sock", "-a", "0750"}, u).action == LoadResult::Action::run);
  CHECK(u.unix_mask == 0750);
  CHECK(stats_value(u, "umask") == "750");
  CHECK(stats_value(u, "domain_socket") == "/tmp/x.sock");
  CHECK(stats_value(Settings{}, "domain_socket") == "NULL");
}

TEST_CASE("memory_limit in megabytes past 2^30 is refused, not wrapped") {
  Settings s;
  CHECK_FALSE(apply_json(s, R"({"memory_limit": 17592186044417})").empty());  // 2^44 + 1
  CHECK(s.memory_limit == 64ull << 20);
  CHECK(apply_json(s, R"({"memory_limit": 1073741824})").empty());  // 2^30 MB: the flag's bound
  CHECK(s.memory_limit == 1ull << 50);
}

TEST_CASE("a flag's text and a JSON value give the same value and the same error") {
  struct Row {
    std::string flag;
    std::string text;  // the flag's argument
    std::string json;  // the same value in the file
  };
  auto error_of = [](const std::string& message, std::string_view prefix) {
    const std::size_t at = message.find(prefix);
    if (at == std::string::npos) return std::string{};
    std::string e = message.substr(at + prefix.size());
    if (!e.empty() && e.back() == '\n') e.pop_back();
    return e;
  };
  const std::vector<std::pair<std::string, Row>> rows = {
      {"conn_limit", {.flag = "-c", .text = "77", .json = "77"}},
      {"memory_limit", {.flag = "-m", .text = "128", .json = "128"}},
      {"memory_limit", {.flag = "-m", .text = "2g", .json = R"("2g")"}},
      {"max_item_size", {.flag = "-I", .text = "2m", .json = R"("2m")"}},
      {"conn_reply_limit", {.flag = "--conn-reply-limit", .text = "65536", .json = "65536"}},
      {"growth_factor", {.flag = "-f", .text = "1.5", .json = "1.5"}},
      {"prefix_delimiter", {.flag = "-D", .text = "#", .json = R"("#")"}},
      {"listen", {.flag = "-l", .text = "0.0.0.0", .json = R"("0.0.0.0")"}},
      {"unix_socket", {.flag = "-s", .text = "/run/m.sock", .json = R"("/run/m.sock")"}},
      {"unix_mask", {.flag = "-a", .text = "0766", .json = R"("0766")"}},
      {"admin_allowed_hosts",
       {.flag = "--admin-allowed-hosts",
        .text = "a.example,::1",
        .json = R"(["a.example", "::1"])"}},
      // Refused, with the same words either way.
      {"conn_limit", {.flag = "-c", .text = "0", .json = "0"}},
      {"port", {.flag = "-p", .text = "70000", .json = "70000"}},
      {"memory_limit", {.flag = "-m", .text = "0", .json = "0"}},
      {"memory_limit", {.flag = "-m", .text = "17592186044417", .json = "17592186044417"}},
      {"max_item_size", {.flag = "-I", .text = "5x", .json = R"("5x")"}},
      {"growth_factor", {.flag = "-f", .text = "9", .json = "9"}},
      {"prefix_delimiter", {.flag = "-D", .text = "ab", .json = R"("ab")"}},
      {"listen", {.flag = "-l", .text = "", .json = R"("")"}},
      {"unix_mask", {.flag = "-a", .text = "800", .json = R"("800")"}},
      {"unix_mask", {.flag = "-a", .text = "1000", .json = R"("1000")"}},
      {"admin_allowed_hosts",
       {.flag = "--admin-allowed-hosts", .text = "*.example", .json = R"(["*.example"])"}},
  };
  for (const auto& [name, row] : rows) {
    INFO(row.flag << " " << row.text << " / " << row.json);
    Settings by_flag;
    const LoadResult loaded = load_args({row.flag, row.text}, by_flag);
    Settings by_json;
    const std::string json_error = apply_json(by_json, "{\"" + name + "\": " + row.json + "}");
    if (loaded.action == LoadResult::Action::run) {
      CHECK(json_error.empty());
      CHECK(settings_json(by_flag) == settings_json(by_json));
    } else {
      const std::string flag_error = error_of(loaded.message, "memcoro: invalid value: ");
      CHECK_FALSE(flag_error.empty());
      CHECK(flag_error == error_of(json_error, "config: "));
    }
  }
}

TEST_CASE("--help gives each default from the settings' own defaults") {
  Settings s;
  const std::string help = load_args({"-h"}, s).message;
  CHECK(help.find("(default 64)") != std::string::npos);    // -m, in megabytes
  CHECK(help.find("(default 1m)") != std::string::npos);    // -I
  CHECK(help.find("(default 1024)") != std::string::npos);  // -c
  CHECK(help.find("(default 1.25)") != std::string::npos);  // -f
  CHECK(help.find("(default 127.0.0.1)") != std::string::npos);
}

TEST_CASE("Live: a refused change changes nothing") {
  Settings start;
  Live live(start);
  std::vector<std::string> calls;
  std::uint64_t limit_in_force = start.memory_limit;
  // As main wires the store: the memory limit first, the one that may refuse.
  live.on_change([&](const Settings& from, const Settings& to) -> std::optional<Rejection> {
    if (to.memory_limit == from.memory_limit) return std::nullopt;
    if (to.memory_limit > (1ull << 30)) return Rejection{"memory_limit", "refused", false};
    limit_in_force = to.memory_limit;
    return std::nullopt;
  });
  live.on_change([&](const Settings&, const Settings& to) -> std::optional<Rejection> {
    calls.push_back("automove " + std::to_string(to.slab_automove));
    return std::nullopt;
  });
  Settings next = start;
  next.memory_limit = 2ull << 30;
  next.conn_limit = 7;
  next.verbosity = 2;
  next.slab_automove = 0;
  const auto refused = live.change(next);
  REQUIRE(refused);
  CHECK(refused->field == "memory_limit");
  CHECK(calls.empty());
  CHECK(limit_in_force == start.memory_limit);
  CHECK(live.conn_limit() == start.conn_limit);
  CHECK(live.verbosity() == start.verbosity);
  CHECK(settings_json(live.snapshot()) == settings_json(start));

  next.memory_limit = 128ull << 20;
  CHECK_FALSE(live.change(next));
  CHECK(limit_in_force == 128ull << 20);
  CHECK(calls == std::vector<std::string>{"automove 0"});
  CHECK(live.conn_limit() == 7u);
  CHECK(live.snapshot().memory_limit == 128ull << 20);
}

TEST_CASE("Live: an applier that refuses after others has them undone") {
  Live live(Settings{});
  std::uint32_t automove_in_force = 1;
  live.on_change([&](const Settings&, const Settings& to) -> std::optional<Rejection> {
    automove_in_force = to.slab_automove;
    return std::nullopt;
  });
  live.on_change([](const Settings&, const Settings& to) -> std::optional<Rejection> {
    if (to.hot_lru_pct == 0) return Rejection{"hot_lru_pct", "refused", false};
    return std::nullopt;
  });
  Settings next;
  next.slab_automove = 2;
  next.hot_lru_pct = 0;
  CHECK(live.change(next));
  CHECK(automove_in_force == 1u);
  CHECK(live.snapshot().slab_automove == 1u);
}

TEST_CASE("Live: a change to one field (the text protocol's) shows in the snapshot") {
  Live live(Settings{});
  unsigned applied_hot = 0;
  live.on_change([&](const Settings&, const Settings& to) -> std::optional<Rejection> {
    applied_hot = to.hot_lru_pct;
    return std::nullopt;
  });
  // What `verbosity 5` and `lru tune 10 30 ...` do through the server.
  CHECK_FALSE(live.change([](Settings& s) {
    s.verbosity = 2;
    return true;
  }));
  CHECK_FALSE(live.change([](Settings& s) {
    s.hot_lru_pct = 10;
    s.warm_lru_pct = 30;
    return true;
  }));
  // An edit that finds its change invalid changes nothing.
  CHECK_FALSE(live.change([](Settings& s) {
    s.verbosity = 0;
    return false;
  }));
  const Settings now = live.snapshot();
  CHECK(now.verbosity == 2u);
  CHECK(live.verbosity() == 2u);
  CHECK(now.hot_lru_pct == 10u);
  CHECK(now.warm_lru_pct == 30u);
  CHECK(applied_hot == 10u);
  const auto shown = stats_settings(now);
  CHECK(std::find(shown.begin(), shown.end(),
                  std::pair<std::string_view, std::string>{"hot_lru_pct", "10"}) != shown.end());
}
