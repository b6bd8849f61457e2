#pragma once
// memcoro --health-check: is a memcoro server answering on its cache port?
#include "memcoro/config/settings.hpp"

namespace memcoro {

// Connects to the cache port `settings` describe (a wildcard listen address
// means this machine's loopback), sends `version`, and expects `VERSION ` back
// within `timeout_ms`. Returns the process exit status: 0 healthy, 1 not;
// says why on stderr when not.
int health_check(const config::Settings& settings, int timeout_ms = 2000);

// The settings of the server to probe. With no flags of its own besides
// --health-check, and process 1 being memcoro (the container case: a
// HEALTHCHECK runs beside a server started with flags it cannot see), that
// server's own command line; otherwise `argv`'s. Environment and config
// file are read either way. Returns false with `error` set when the
// settings cannot be read.
bool health_check_settings(int argc, char** argv, config::Settings& out, std::string& error);

}  // namespace memcoro
