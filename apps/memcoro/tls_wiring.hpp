#pragma once
// The TLS context as the ssl_* settings describe it, kept in step with them
// while running.
#include <string>

#include "memcoro/config/live.hpp"
#include "memcoro/server/tls_context.hpp"

namespace memcoro {

// The first ssl_* setting that differs between a and b, or "".
std::string changed_tls_field(const config::Settings& a, const config::Settings& b);

// Registers the applier that rebuilds `tls` when an ssl_* setting changes
// (PUT /config, reload, SIGHUP). A context that does not build (a missing
// file, a key that does not match, an unknown cipher) refuses the change and
// the one in force stays.
void apply_to_tls(config::Live& live, server::TlsContext& tls);

}  // namespace memcoro
