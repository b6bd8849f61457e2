// memcoro: flags + config file -> Settings, then the store and the server.
#include <csignal>
#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>

#include "admin_backend.hpp"
#include "auth_files.hpp"
#include "health_check.hpp"
#include "memcoro/admin/admin.hpp"
#include "memcoro/config/live.hpp"
#include "memcoro/config/settings.hpp"
#include "memcoro/server/server.hpp"
#include "memcoro/store/clock.hpp"
#include "memcoro/store/store.hpp"
#include "store_wiring.hpp"
#include "tls_wiring.hpp"

namespace {

bool is_loopback(const std::string& addr) {
  return addr == "127.0.0.1" || addr.starts_with("127.") || addr == "::1" || addr == "localhost";
}

// The admin token, from --admin-token-file: the file's first line.
bool read_token(const std::string& path, std::string& token) {
  std::ifstream f(path);
  if (!f) return false;
  std::getline(f, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return !token.empty();
}

}  // namespace

int main(int argc, char** argv) {
  using memcoro::config::LoadResult;
  memcoro::config::Settings settings;
  const LoadResult loaded = memcoro::config::load(argc, argv, settings);
  switch (loaded.action) {
    case LoadResult::Action::exit_ok: std::fputs(loaded.message.c_str(), stdout); return 0;
    case LoadResult::Action::exit_error:
      std::fputs(loaded.message.c_str(), stderr);
      return 64;  // EX_USAGE, as memcached
    case LoadResult::Action::health_check: {
      std::string error;
      if (!memcoro::health_check_settings(argc, argv, settings, error)) {
        std::fputs(error.c_str(), stderr);
        return 1;
      }
      return memcoro::health_check(settings);
    }
    case LoadResult::Action::run: std::fputs(loaded.message.c_str(), stderr); break;
  }

  std::string token;
  if (!settings.admin_token_file.empty() && !read_token(settings.admin_token_file, token)) {
    std::fprintf(stderr, "memcoro: cannot read an admin token from '%s'\n",
                 settings.admin_token_file.c_str());
    return 64;
  }
  if (settings.admin_port != 0 && !is_loopback(settings.admin_listen) && !token.empty() &&
      !settings.admin_tls) {
    std::fprintf(stderr,
                 "memcoro: warning: admin port on %s takes its token over plain HTTP: anyone "
                 "on the network path can read it. Give --admin-tls to serve it over HTTPS.\n",
                 settings.admin_listen.c_str());
  }
  if (settings.admin_port != 0 && !is_loopback(settings.admin_listen) && token.empty()) {
    // Reads (metrics, probes, stats) stay open; the admin server refuses
    // every change that does not come from this machine's loopback.
    std::fprintf(stderr,
                 "memcoro: admin port on %s without a token: other hosts may read it, but "
                 "only loopback clients may change anything. Give --admin-token-file FILE "
                 "to allow changes with the token.\n",
                 settings.admin_listen.c_str());
  }

  // -S and -Y: their files must parse before anything listens.
  memcoro::AuthFiles auth;
  if (std::string error; !auth.load(settings, error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;  // EXIT_FAILURE, as memcached
  }

  memcoro::store::SystemClock clock;
  try {
    const std::unique_ptr<memcoro::store::Store> owned = memcoro::open_store(settings, clock);
    memcoro::store::Store& store = *owned;
    if (store.max_memory_limit() < settings.memory_limit) {
      // memcached starts with any -m; so does memcoro, saying where it stops.
      std::fprintf(stderr,
                   "memcoro: memory_limit is %zu MiB, but items can use at most the %zu MiB "
                   "this instance can address\n",
                   static_cast<std::size_t>(settings.memory_limit >> 20),
                   store.max_memory_limit() >> 20);
    }
    {
      // The settings in force from here on: every change goes through it.
      memcoro::config::Live live(settings);
      memcoro::apply_to_store(live, store);
      memcoro::server::Server server(live, store, auth.auth());
      if (settings.ssl_enabled || settings.admin_tls) {
        if (std::string e = server.tls().load(settings); !e.empty()) {
          std::fprintf(stderr, "%s\n", e.c_str());
          return 64;  // EX_USAGE, as memcached
        }
        memcoro::apply_to_tls(live, server.tls());
      }
      const auto bound = server.bind();
      if (!bound.error.empty()) {
        std::fprintf(stderr, "memcoro: cannot listen on %s\n", bound.error.c_str());
        return 71;  // EX_OSERR
      }
      const unsigned short port = bound.port;

      std::vector<std::string> args(argv, argv + argc);
      memcoro::AdminBackend backend(live, args, server, store, auth);
      memcoro::admin::Options admin_options;
      admin_options.listen = settings.admin_listen;
      admin_options.port = settings.admin_port;
      admin_options.token = token;
      admin_options.allowed_hosts = settings.admin_allowed_hosts;
      if (settings.admin_tls) {
        admin_options.tls_context = [&server] { return server.tls().share(); };
      }
      memcoro::admin::Server admin(admin_options, backend);
      if (settings.admin_port != 0) {
        if (std::string e = admin.bind(); !e.empty()) {
          std::fprintf(stderr, "memcoro: cannot listen on admin port %s:%u: %s\n",
                       settings.admin_listen.c_str(), static_cast<unsigned>(settings.admin_port),
                       e.c_str());
          return 71;
        }
        admin.start();
      }
      server.on_sighup([&backend] {
        const memcoro::admin::Reply r = backend.reload_config();
        std::fprintf(stderr, "SIGHUP: config reload: %d %s", r.status, r.body.c_str());
      });
      if (settings.verbosity > 0) {
        const std::string where = settings.unix_socket.empty()
                                      ? settings.listen + " (port " + std::to_string(port) + ")"
                                      : "unix socket " + settings.unix_socket;
        std::fprintf(stderr, "memcoro %s listening on %s with %u threads\n",
                     std::string(memcoro::config::kVersion).c_str(), where.c_str(),
                     settings.threads);
      }
      server.run();
    }  // the server, and with it its signal handlers, is gone
    // Exiting: a second SIGTERM, SIGINT or SIGUSR1 (an impatient supervisor)
    // must not turn a clean stop into death by signal while the store is
    // saved and torn down.
    std::signal(SIGTERM, SIG_IGN);
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGUSR1, SIG_IGN);
    memcoro::save_store(settings, store);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memcoro: %s\n", e.what());
    return 70;
  }
  return 0;
}
