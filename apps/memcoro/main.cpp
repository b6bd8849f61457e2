// memcoro: flags + config file -> Settings, then the store and the server.
#include <cstdio>
#include <exception>

#include "memcoro/config/settings.hpp"
#include "memcoro/server/server.hpp"
#include "memcoro/store/clock.hpp"
#include "memcoro/store/store.hpp"

int main(int argc, char** argv) {
  using memcoro::config::LoadResult;
  memcoro::config::Settings settings;
  const LoadResult loaded = memcoro::config::load(argc, argv, settings);
  switch (loaded.action) {
    case LoadResult::Action::exit_ok: std::fputs(loaded.message.c_str(), stdout); return 0;
    case LoadResult::Action::exit_error:
      std::fputs(loaded.message.c_str(), stderr);
      return 64;  // EX_USAGE, as memcached
    case LoadResult::Action::run: break;
  }

  memcoro::store::SystemClock clock;
  memcoro::store::StoreConfig store_config;
  store_config.memory_limit = settings.memory_limit;
  store_config.max_item_size = settings.max_item_size;
  store_config.chunk_size = settings.chunk_size;
  store_config.growth_factor = settings.growth_factor;
  store_config.evictions = settings.evictions;
  store_config.automove = settings.slab_automove;
  store_config.lru_crawler = settings.lru_crawler;
  try {
    memcoro::store::Store store(store_config, clock);
    memcoro::server::Server server(settings, store);
    const auto bound = server.bind();
    if (!bound.error.empty()) {
      std::fprintf(stderr, "memcoro: cannot listen on %s:%u: %s\n", settings.listen.c_str(),
                   static_cast<unsigned>(settings.port), bound.error.c_str());
      return 71;  // EX_OSERR
    }
    const unsigned short port = bound.port;
    if (settings.verbosity > 0) {
      std::fprintf(stderr, "memcoro %s listening on %s:%u with %u threads\n",
                   std::string(memcoro::config::kVersion).c_str(), settings.listen.c_str(), port,
                   settings.threads);
    }
    server.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memcoro: %s\n", e.what());
    return 70;
  }
  return 0;
}
