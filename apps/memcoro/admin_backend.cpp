#include "admin_backend.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "memcoro/exec/execute.hpp"
#include "memcoro/protocol/text_parser.hpp"

namespace memcoro {

std::string AdminBackend::stats_text(std::string_view sub) {
  const std::string request = "stats " + std::string(sub) + "\r\n";
  protocol::Command cmd;
  if (protocol::parse_text(request, cmd).status != protocol::ParseStatus::complete) return {};
  exec::Context ctx{store_, counters_, &server_.control()};
  exec::Output out;
  exec::execute(cmd, ctx, out);
  return out.text();
}

std::string AdminBackend::config_json() {
  std::lock_guard lock(mu_);
  config::Settings live = settings_;
  live.memory_limit = store_.memory_limit();  // cache_memlimit may have changed it
  live.slab_automove = store_.automove();
  live.lru_crawler = store_.lru_crawler();
  live.hot_lru_pct = store_.hot_pct();  // lru tune may have changed them
  live.warm_lru_pct = store_.warm_pct();
  return config::settings_json(live);
}

admin::Reply AdminBackend::apply(const config::UpdatePlan& plan, std::string_view source) {
  nlohmann::json body;
  if (!plan.rejected.empty()) {
    bool restart_only = true;
    nlohmann::json rejected = nlohmann::json::array();
    for (const config::Rejection& r : plan.rejected) {
      restart_only = restart_only && r.needs_restart;
      rejected.push_back({{"field", r.field}, {"reason", r.reason}});
    }
    body = {{"applied", false}, {"rejected", rejected}};
    std::fprintf(stderr, "config (%.*s): refused, nothing changed: %s\n",
                 static_cast<int>(source.size()), source.data(), rejected.dump().c_str());
    return {restart_only ? 409 : 400, body.dump(2) + "\n"};
  }
  server_.apply_live(plan.next);
  nlohmann::json changed = nlohmann::json::array();
  for (const std::string& field : plan.changed) {
    changed.push_back(field);
    std::fprintf(stderr, "config (%.*s): %s changed\n", static_cast<int>(source.size()),
                 source.data(), field.c_str());
  }
  settings_ = plan.next;
  body = {{"applied", true}, {"changed", changed}};
  return {200, body.dump(2) + "\n"};
}

admin::Reply AdminBackend::put_config(std::string_view body) {
  std::lock_guard lock(mu_);
  return apply(config::plan_update(settings_, body), "PUT /config");
}

admin::Reply AdminBackend::reload_config() {
  std::lock_guard lock(mu_);
  if (settings_.config_file.empty()) {
    return {400, "{\"applied\": false, \"error\": \"started without --config\"}\n"};
  }
  // Defaults < file < flags, as at startup.
  std::vector<char*> argv;
  for (std::string& a : argv_) argv.push_back(a.data());
  argv.push_back(nullptr);
  config::Settings candidate;
  const config::LoadResult loaded =
      config::load(static_cast<int>(argv_.size()), argv.data(), candidate);
  if (loaded.action != config::LoadResult::Action::run) {
    nlohmann::json body = {{"applied", false}, {"error", loaded.message}};
    std::fprintf(stderr, "config (reload): refused: %s", loaded.message.c_str());
    return {400, body.dump(2) + "\n"};
  }
  return apply(config::plan_replace(settings_, candidate), "reload");
}

}  // namespace memcoro
