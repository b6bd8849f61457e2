#pragma once
// The declaration of every setting (settings.cpp) as the parts that read
// settings (settings.cpp, load.cpp) see it. Internal to memcoro_config.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "memcoro/config/settings.hpp"

namespace memcoro::config {

using nlohmann::json;

struct Def {
  std::string_view name;  // JSON field
  char short_flag;        // 0: none
  std::string_view long_flag;
  std::string_view arg;  // "" for switches
  std::string_view help;
  std::string_view stats_name;  // "" : not in `stats settings`
  bool live;
  // Set from a flag's text ("" for switches) or a JSON value; "" or an error.
  std::function<std::string(Settings&, std::string_view)> from_text;
  std::function<std::string(Settings&, const json&)> from_json;
  std::function<std::string(const Settings&)> show;
  // The value as JSON (for GET /config and change detection).
  std::function<json(const Settings&)> value = {};
};

// Every setting, in the order --help and GET /config list them.
const std::vector<Def>& defs();

}  // namespace memcoro::config
