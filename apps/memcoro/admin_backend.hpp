#pragma once
// The admin port's view of this process: stats from the reports that the
// text protocol's `stats` emits too, settings changes planned by config and
// made through config::Live, and the reload of the credential files.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "auth_files.hpp"
#include "memcoro/admin/admin.hpp"
#include "memcoro/config/live.hpp"
#include "memcoro/config/settings.hpp"
#include "memcoro/server/server.hpp"
#include "memcoro/stats/counters.hpp"
#include "memcoro/store/store.hpp"

namespace memcoro {

class AdminBackend final : public admin::Backend {
 public:
  AdminBackend(config::Live& live, std::vector<std::string> argv, server::Server& server,
               store::Store& store, AuthFiles& auth)
      : live_(live), argv_(std::move(argv)), server_(server), store_(store), auth_(auth) {}

  void stats(std::string_view report, stats::Sink& sink) override;
  void reset_stats() override { server_.control().reset_stats(); }
  stats::LatencySnapshot latency() override { return server_.control().latency(); }
  bool ready() override { return server_.accepting(); }
  std::string config_json() override;
  admin::Reply put_config(std::string_view body) override;
  // The settings file (with --config) and the credential files (-S, -Y),
  // all or nothing: a file that does not parse changes nothing.
  admin::Reply reload_config() override;
  // The console: a session of the server's, on the admin thread.
  std::unique_ptr<admin::Console> open_console(const std::string& addr,
                                               const std::string& listen_addr, int fd) override;
  bool cache_requires_auth() override { return auth_.any(); }

 private:
  // Plans a change from the settings in force and makes it, as one change.
  using Planner = std::function<config::UpdatePlan(const config::Settings& current)>;
  admin::Reply apply(const Planner& plan_from, std::string_view source);
  // The settings the file and the command line give now, into `candidate`;
  // the refusal if they do not load.
  std::optional<admin::Reply> read_settings(config::Settings& candidate);
  // Logs and answers a change that applies nothing.
  admin::Reply refuse(int status, const std::vector<config::Rejection>& rejections,
                      std::string_view source);

  config::Live& live_;
  std::vector<std::string> argv_;
  server::Server& server_;
  store::Store& store_;
  AuthFiles& auth_;
  stats::ThreadCounters counters_;  // the admin thread's; stats views count nothing
};

}  // namespace memcoro
