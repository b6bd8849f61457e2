#pragma once
// The server's TLS configuration (memcached's -Z and ssl_* options) as an
// OpenSSL context that can be replaced while connections use the old one:
// each connection's SSL object holds a reference to the context it was made
// from, so a refresh (the `refresh_certs` command, a reload, a change of the
// ssl_* settings) affects new connections only and never drops one.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "memcoro/config/settings.hpp"

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;

namespace memcoro::server {

class TlsContext {
  struct Options {
    std::string chain_cert, key, ca_cert, ciphers;
    unsigned verify_mode = 0;
    unsigned min_version = 2;
    bool session_cache = false;
    bool operator==(const Options&) const = default;
  };

 public:
  // Builds the context from `s` (ssl_chain_cert, ssl_key, ...). "" or the
  // error, in memcached's words ("Error loading the certificate chain: ...");
  // on an error the context in force (if any) stays.
  std::string load(const config::Settings& s);
  // Re-reads the certificate and key files with the options in force.
  std::string refresh();

  // refresh() in two steps, for a reload that reads other files too and
  // changes nothing unless all of them load: stage() builds the context
  // from the files (or says why it cannot), commit() puts it in force,
  // unless a load with other options came in between (that one stays).
  class Staged {
    friend class TlsContext;
    std::shared_ptr<SSL_CTX> ctx_;
    Options opts_;
  };
  std::string stage(Staged& out) const;
  void commit(Staged staged);

  // A new server-side SSL object, or null before the first load.
  SSL* new_ssl() const;
  // The context in force with a reference of the caller's (SSL_CTX_free it),
  // or null: for the admin port.
  SSL_CTX* share() const;
  bool loaded() const;
  // Unix time of the last successful load or refresh.
  std::int64_t refreshed_at() const { return refreshed_at_.load(std::memory_order_relaxed); }

 private:
  static std::string build(const Options& o, std::shared_ptr<SSL_CTX>& out);
  // Builds from `o` and puts it in force (load): "" or the error, the
  // context in force kept.
  std::string install(Options o);
  void put_in_force(std::shared_ptr<SSL_CTX> ctx, Options o);  // under mu_

  mutable std::mutex mu_;
  std::shared_ptr<SSL_CTX> ctx_;  // under mu_
  Options opts_;                  // under mu_: what ctx_ was built from
  std::atomic<std::int64_t> refreshed_at_{0};
};

}  // namespace memcoro::server
