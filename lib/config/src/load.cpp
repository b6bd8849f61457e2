// Where settings come from, lowest first: defaults, a few environment
// variables (for containers), the JSON file, the flags.
#include <getopt.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "defs.hpp"
#include "memcoro/config/settings.hpp"

namespace memcoro::config {
namespace {

// The environment variables memcoro reads, and the setting each one sets.
// Only these: a container orchestrator sets variables of its own that start
// with the service's name (Kubernetes: MEMCORO_PORT=tcp://10.0.0.7:11211 for
// a service called memcoro), so memcoro never reads MEMCORO_* wholesale.
struct EnvSetting {
  const char* variable;
  std::string_view setting;
};
constexpr EnvSetting kEnvironment[] = {
    {"MEMCORO_LISTEN", "listen"},
    {"MEMCORO_ADMIN_LISTEN", "admin_listen"},
    {"MEMCORO_ADMIN_TOKEN_FILE", "admin_token_file"},
    {"MEMCORO_ADMIN_ALLOWED_HOSTS", "admin_allowed_hosts"},
    {"MEMCACHED_SASL_PWDB", "sasl_pwdb"},  // memcached's own (its pwdb build)
};
// Names a config file that is read when it exists (the container image
// points it at /etc/memcoro/memcoro.json, which a user may or may not mount).
constexpr const char* kConfigVariable = "MEMCORO_CONFIG";

std::string apply_environment(Settings& s) {
  for (const EnvSetting& e : kEnvironment) {
    const char* value = std::getenv(e.variable);
    if (value == nullptr) continue;
    if (std::string error = set_from_text(*find_def(e.setting), s, value); !error.empty()) {
      return std::string(e.variable) + ": " + error;
    }
  }
  return {};
}

// ENOENT is told apart: an optional file may be absent, not unreadable.
std::string read_file(const std::string& path, std::string& out, bool& missing) {
  std::ifstream f(path, std::ios::binary);
  missing = !f && errno == ENOENT;
  if (!f) return "cannot read config file '" + path + "'";
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return {};
}

// memcached's -o: "name=value,name2=value2" with the settings' JSON names
// (a toggle alone turns it on).
std::string apply_extended(std::string_view list, Settings& s) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    list = comma == list.npos ? std::string_view() : list.substr(comma + 1);
    const std::size_t eq = item.find('=');
    const std::string_view name = item.substr(0, eq);
    const Def* d = find_def(name);
    if (d == nullptr) return "-o " + std::string(name) + ": unknown setting";
    if (eq == item.npos && d->kind != Kind::toggle) {
      return "-o " + std::string(name) + ": needs " + std::string(name) + "=VALUE";
    }
    const std::string_view value = eq == item.npos ? "true" : item.substr(eq + 1);
    if (std::string e = set_from_text(*d, s, value); !e.empty()) return e;
  }
  return {};
}

}  // namespace

std::string help_text() {
  std::ostringstream o;
  o << "memcoro " << kVersion << " - a memcached-compatible cache server\n\n"
    << "usage: memcoro [options]\n\n";
  auto line = [&](std::string flags, std::string_view help) {
    o << "  " << flags;
    for (std::size_t i = flags.size(); i < 30; ++i) o << ' ';
    o << help << '\n';
  };
  for (const Def& d : defs()) {
    std::string f;
    if (d.short_flag != 0) f += std::string("-") + d.short_flag + ", ";
    f += "--" + std::string(d.long_flag);
    if (!d.arg.empty()) f += " " + std::string(d.arg);
    const std::string fallback = default_text(d);
    line(f, std::string(d.help) + (fallback.empty() ? "" : " (default " + fallback + ")") +
                (d.live ? "" : " [restart to change]"));
  }
  line("-o NAME=VALUE,...", "any setting above by its JSON name, as memcached's -o");
  line("--config FILE", "JSON settings file (flags override it); see config/memcoro.json");
  line("--health-check",
       "ask the server these settings (or process 1's) describe for its version; exit 0 if it "
       "answers within 2 s, else 1");
  line("-V, --version", "print the version and exit");
  line("-h, --help", "print this help and exit");
  return o.str();
}
LoadResult load(int argc, char** argv, Settings& out) {
  // getopt tables from the declarations.
  std::string shorts = "+hVo:";
  std::vector<option> longs;
  std::vector<std::string> long_names;
  long_names.reserve(defs().size() + 3);
  for (std::size_t i = 0; i < defs().size(); ++i) {
    const Def& d = defs()[i];
    if (d.short_flag != 0) {
      shorts += d.short_flag;
      if (!d.arg.empty()) shorts += ':';
    }
    long_names.emplace_back(d.long_flag);
    longs.push_back(option{long_names.back().c_str(),
                           d.arg.empty() ? no_argument : required_argument, nullptr,
                           1000 + static_cast<int>(i)});
  }
  longs.push_back(option{"config", required_argument, nullptr, 900});
  longs.push_back(option{"health-check", no_argument, nullptr, 901});
  longs.push_back(option{"help", no_argument, nullptr, 'h'});
  longs.push_back(option{"version", no_argument, nullptr, 'V'});
  longs.push_back(option{nullptr, 0, nullptr, 0});

  auto def_for = [&](int code) -> const Def* {
    if (code >= 1000) return &defs()[static_cast<std::size_t>(code - 1000)];
    for (const Def& d : defs()) {
      if (d.short_flag == code) return &d;
    }
    return nullptr;
  };

  // The environment, under everything else.
  Settings s;
  if (std::string e = apply_environment(s); !e.empty()) {
    return {LoadResult::Action::exit_error, "memcoro: invalid value: " + e + "\n"};
  }
  bool config_optional = false;
  if (const char* path = std::getenv(kConfigVariable); path != nullptr && *path != '\0') {
    s.config_file = path;
    config_optional = true;
  }
  // Pass 1: --config, --help, --version, --health-check, and unknown flags.
  bool health_check = false;
  opterr = 0;
  optind = 0;  // 0: glibc re-initializes getopt completely
  int code;
  while ((code = getopt_long(argc, argv, shorts.c_str(), longs.data(), nullptr)) != -1) {
    if (code == 'h') return {LoadResult::Action::exit_ok, help_text()};
    if (code == 'V')
      return {LoadResult::Action::exit_ok, "memcoro " + std::string(kVersion) + "\n"};
    if (code == 900) {
      s.config_file = optarg;
      config_optional = false;
    }
    if (code == 901) health_check = true;
    if (code == '?' || code == ':') {
      std::string bad = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
      return {LoadResult::Action::exit_error,
              "memcoro: unknown option or missing value: '" + bad + "' (see --help)\n"};
    }
  }
  if (optind < argc) {
    return {LoadResult::Action::exit_error,
            "memcoro: unexpected argument '" + std::string(argv[optind]) + "' (see --help)\n"};
  }
  LoadResult result;
  if (!s.config_file.empty()) {
    std::string text;
    bool missing = false;
    if (std::string e = read_file(s.config_file, text, missing); !e.empty()) {
      if (!(missing && config_optional)) {
        return {LoadResult::Action::exit_error, "memcoro: " + e + "\n"};
      }
      result.message = "memcoro: no config file at " + s.config_file + " (" + kConfigVariable +
                       "); using the defaults and the flags\n";
      text = "{}";
    }
    if (std::string e = apply_json(s, text); !e.empty()) {
      return {LoadResult::Action::exit_error, "memcoro: " + s.config_file + ": " + e + "\n"};
    }
  }
  // Pass 2: flags over the file.
  optind = 0;  // 0: glibc re-initializes getopt completely
  std::vector<const Def*> given;
  while ((code = getopt_long(argc, argv, shorts.c_str(), longs.data(), nullptr)) != -1) {
    if (code == 'o') {
      if (std::string e = apply_extended(optarg, s); !e.empty()) {
        return {LoadResult::Action::exit_error, "memcoro: invalid value: " + e + "\n"};
      }
      continue;
    }
    const Def* d = def_for(code);
    if (d == nullptr) continue;
    const bool again = std::find(given.begin(), given.end(), d) != given.end();
    given.push_back(d);
    std::string joined;
    if (again && d->repeats && optarg != nullptr) joined = show(*d, s) + "," + optarg;
    if (std::string e = set_from_flag(*d, s, joined.empty() ? optarg : joined.c_str());
        !e.empty()) {
      return {LoadResult::Action::exit_error, "memcoro: invalid value: " + e + "\n"};
    }
  }
  if (std::string e = validate(s); !e.empty()) {
    return {LoadResult::Action::exit_error, "memcoro: " + e + "\n"};
  }
  out = std::move(s);
  if (health_check) result.action = LoadResult::Action::health_check;
  return result;
}

}  // namespace memcoro::config
