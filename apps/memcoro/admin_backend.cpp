#include "admin_backend.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "memcoro/exec/execute.hpp"
#include "tls_wiring.hpp"

namespace memcoro {
namespace {

// A reload that read a file it could not use: 400, logged, nothing changed.
admin::Reply reload_refused(std::string_view error) {
  const nlohmann::json body = {{"applied", false}, {"error", error}};
  std::fprintf(stderr, "config (reload): refused, nothing changed: %.*s%s",
               static_cast<int>(error.size()), error.data(), error.ends_with('\n') ? "" : "\n");
  return {400, body.dump(2) + "\n"};
}

}  // namespace

void AdminBackend::stats(std::string_view report, stats::Sink& sink) {
  exec::Context ctx{store_, counters_, &server_.control()};
  std::span<const std::string_view> args(&report, report.empty() ? 0 : 1);
  exec::report(args, ctx, sink);
}

std::string AdminBackend::config_json() {
  return config::settings_json(live_.snapshot());
}

admin::Reply AdminBackend::refuse(int status, const std::vector<config::Rejection>& rejections,
                                  std::string_view source) {
  nlohmann::json rejected = nlohmann::json::array();
  for (const config::Rejection& r : rejections) {
    rejected.push_back({{"field", r.field}, {"reason", r.reason}});
  }
  const nlohmann::json body = {{"applied", false}, {"rejected", rejected}};
  std::fprintf(stderr, "config (%.*s): refused, nothing changed: %s\n",
               static_cast<int>(source.size()), source.data(), rejected.dump().c_str());
  return {status, body.dump(2) + "\n"};
}

admin::Reply AdminBackend::apply(const Planner& plan_from, std::string_view source) {
  // Planned from what is in force, inside the change: a field the request
  // leaves out keeps what the text protocol set (cache_memlimit, lru
  // tune...), even a moment before.
  config::UpdatePlan plan;
  const auto refused = live_.change([&](config::Settings& next) {
    plan = plan_from(next);
    if (!plan.rejected.empty()) return false;
    next = plan.next;
    return true;
  });
  if (!plan.rejected.empty()) {
    const bool restart_only =
        std::all_of(plan.rejected.begin(), plan.rejected.end(),
                    [](const config::Rejection& r) { return r.needs_restart; });
    return refuse(restart_only ? 409 : 400, plan.rejected, source);
  }
  // Valid, but what is running may not take it: 409, and nothing applied.
  if (refused) return refuse(409, {*refused}, source);
  nlohmann::json changed = nlohmann::json::array();
  for (const std::string& field : plan.changed) {
    changed.push_back(field);
    std::fprintf(stderr, "config (%.*s): %s changed\n", static_cast<int>(source.size()),
                 source.data(), field.c_str());
  }
  const nlohmann::json body = {{"applied", true}, {"changed", changed}};
  return {200, body.dump(2) + "\n"};
}

admin::Reply AdminBackend::put_config(std::string_view body) {
  return apply([&](const config::Settings& current) { return config::plan_update(current, body); },
               "PUT /config");
}

admin::Reply AdminBackend::reload_config() {
  const config::Settings current = live_.snapshot();
  const bool with_config = !current.config_file.empty();
  const bool with_tls = server_.tls().loaded();
  if (!with_config && !auth_.any() && !with_tls) {
    return {400, "{\"applied\": false, \"error\": \"started without --config\"}\n"};
  }
  // The settings the file and the flags give now, read before anything
  // changes.
  config::Settings candidate;
  if (with_config) {
    if (std::optional<admin::Reply> refused = read_settings(candidate)) return *refused;
  }
  // The certificate and key re-read (refresh_certs), put in force with the
  // rest: a file that does not load keeps the old context and refuses the
  // whole reload. A reload that names other TLS files (or options) loads
  // those instead, once, when the settings change below: the files it
  // leaves may be gone already.
  const bool tls_renamed = with_config && !changed_tls_field(current, candidate).empty();
  server::TlsContext::Staged staged_tls;
  if (with_tls && !tls_renamed) {
    if (std::string error = server_.tls().stage(staged_tls); !error.empty()) {
      return reload_refused(error);
    }
  }
  // The credential files first, into tables not yet in force.
  AuthFiles::Tables tables;
  if (std::string error; !auth_.read(tables, error)) return reload_refused(error);
  nlohmann::json reloaded = nlohmann::json::array();
  if (tables.sasl != nullptr) reloaded.push_back("sasl_pwdb");
  if (tables.ascii != nullptr) reloaded.push_back("auth_file");
  if (with_tls) reloaded.push_back("ssl_chain_cert");
  admin::Reply reply{200, "{\"applied\": true, \"changed\": []}"};
  if (with_config) {
    reply = apply([&](const config::Settings& now) { return config::plan_replace(now, candidate); },
                  "reload");
    if (reply.status != 200) return reply;
  }
  auth_.commit(std::move(tables));
  server_.tls().commit(std::move(staged_tls));
  if (reloaded.empty()) return reply;
  std::fprintf(stderr, "config (reload): %s re-read\n", reloaded.dump().c_str());
  nlohmann::json body = nlohmann::json::parse(reply.body);
  body["reloaded"] = reloaded;
  return {200, body.dump(2) + "\n"};
}

std::optional<admin::Reply> AdminBackend::read_settings(config::Settings& candidate) {
  // Defaults < file < flags, as at startup.
  std::vector<char*> argv;
  for (std::string& a : argv_) argv.push_back(a.data());
  argv.push_back(nullptr);
  const config::LoadResult loaded =
      config::load(static_cast<int>(argv_.size()), argv.data(), candidate);
  if (loaded.action == config::LoadResult::Action::run) return std::nullopt;
  return reload_refused(loaded.message);
}

namespace {

// The server's console session as the admin port sees it.
class ServerConsole final : public admin::Console {
 public:
  explicit ServerConsole(std::unique_ptr<server::Server::Console> session)
      : session_(std::move(session)) {}
  Result run(std::string_view wire, std::size_t limit) override {
    server::Server::Console::Result r = session_->run(wire, limit);
    return {std::move(r.reply), r.waiting, r.closed, r.truncated};
  }

 private:
  std::unique_ptr<server::Server::Console> session_;
};

}  // namespace

std::unique_ptr<admin::Console> AdminBackend::open_console(const std::string& addr,
                                                           const std::string& listen_addr, int fd) {
  return std::make_unique<ServerConsole>(server_.open_console(addr, listen_addr, fd));
}

}  // namespace memcoro
