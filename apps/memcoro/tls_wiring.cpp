#include "tls_wiring.hpp"

#include <string>

namespace memcoro {
std::string changed_tls_field(const config::Settings& a, const config::Settings& b) {
  if (a.ssl_chain_cert != b.ssl_chain_cert) return "ssl_chain_cert";
  if (a.ssl_key != b.ssl_key) return "ssl_key";
  if (a.ssl_ca_cert != b.ssl_ca_cert) return "ssl_ca_cert";
  if (a.ssl_ciphers != b.ssl_ciphers) return "ssl_ciphers";
  if (a.ssl_verify_mode != b.ssl_verify_mode) return "ssl_verify_mode";
  if (a.ssl_min_version != b.ssl_min_version) return "ssl_min_version";
  if (a.ssl_session_cache != b.ssl_session_cache) return "ssl_session_cache";
  return {};
}

void apply_to_tls(config::Live& live, server::TlsContext& tls) {
  live.on_change([&tls](const config::Settings& from,
                        const config::Settings& to) -> std::optional<config::Rejection> {
    const std::string field = changed_tls_field(from, to);
    if (field.empty()) return std::nullopt;
    if (std::string error = tls.load(to); !error.empty()) {
      return config::Rejection{field, error + " (the TLS settings in force stay)", false};
    }
    return std::nullopt;
  });
}

}  // namespace memcoro
