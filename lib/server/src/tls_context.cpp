#include "memcoro/server/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <ctime>

namespace memcoro::server {
namespace {

// The oldest error OpenSSL queued (the cause), and the queue emptied.
std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string shown(const std::string& path) {
  return path.empty() ? "(null)" : path;
}

}  // namespace

std::string TlsContext::build(const Options& o, std::shared_ptr<SSL_CTX>& out) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return "Failed to create the TLS context: " + openssl_error();
  static constexpr int kVersions[] = {TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION};
  if (o.min_version > 3 || SSL_CTX_set_min_proto_version(ctx.get(), kVersions[o.min_version]) != 1)
    return "Invalid ssl_min_version";
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.chain_cert.c_str()) != 1) {
    return "Error loading the certificate chain: " + shown(o.chain_cert) + " : " + openssl_error();
  }
  const std::string& key = o.key.empty() ? o.chain_cert : o.key;
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return "Error loading the key: " + shown(key) + " : " + openssl_error();
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return "Error validating the certificate: " + openssl_error();
  }
  if (!o.ca_cert.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), o.ca_cert.c_str(), nullptr) != 1) {
      return "Error loading the CA certificate: " + o.ca_cert + " : " + openssl_error();
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.ca_cert.c_str());
    if (names == nullptr) {
      return "Error loading the CA certificate: " + o.ca_cert + " : " + openssl_error();
    }
    SSL_CTX_set_client_CA_list(ctx.get(), names);  // takes ownership
  }
  if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(ctx.get(), o.ciphers.c_str()) != 1) {
    return "Error setting the provided cipher(s): " + o.ciphers + " : " + openssl_error();
  }
  // memcached's verify modes: 0 none, 1 request, 2 require, 3 once.
  static constexpr int kVerify[] = {
      SSL_VERIFY_NONE, SSL_VERIFY_PEER, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
      SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE};
  if (o.verify_mode > 3) return "Invalid ssl_verify_mode";
  SSL_CTX_set_verify(ctx.get(), kVerify[o.verify_mode], nullptr);
  if (o.session_cache) {
    static constexpr unsigned char kId[] = "memcoro";
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(ctx.get(), kId, sizeof kId - 1);
  } else {
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  }
  // Read whole buffers, not a record header at a time: a receive that
  // comes back short then means the socket is drained (tls_channel.cpp).
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  // A write that would block is retried from a buffer that may have moved
  // (the connection's staging buffer is reused).
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  out = std::move(ctx);
  return {};
}

std::string TlsContext::load(const config::Settings& s) {
  return install(Options{.chain_cert = s.ssl_chain_cert,
                         .key = s.ssl_key,
                         .ca_cert = s.ssl_ca_cert,
                         .ciphers = s.ssl_ciphers,
                         .verify_mode = s.ssl_verify_mode,
                         .min_version = s.ssl_min_version,
                         .session_cache = s.ssl_session_cache});
}

std::string TlsContext::refresh() {
  Staged staged;
  if (std::string e = stage(staged); !e.empty()) return e;
  commit(std::move(staged));
  return {};
}

std::string TlsContext::stage(Staged& out) const {
  {
    std::lock_guard lock(mu_);
    if (!ctx_) return "Error TLS not enabled";
    out.opts_ = opts_;
  }
  return build(out.opts_, out.ctx_);
}

void TlsContext::commit(Staged staged) {
  std::lock_guard lock(mu_);
  if (!staged.ctx_ || staged.opts_ != opts_) return;
  put_in_force(std::move(staged.ctx_), std::move(staged.opts_));
}

std::string TlsContext::install(Options o) {
  std::shared_ptr<SSL_CTX> ctx;
  if (std::string e = build(o, ctx); !e.empty()) return e;
  std::lock_guard lock(mu_);
  put_in_force(std::move(ctx), std::move(o));
  return {};
}

void TlsContext::put_in_force(std::shared_ptr<SSL_CTX> ctx, Options o) {
  ctx_ = std::move(ctx);
  opts_ = std::move(o);
  refreshed_at_.store(std::time(nullptr), std::memory_order_relaxed);
}

SSL* TlsContext::new_ssl() const {
  std::lock_guard lock(mu_);
  return ctx_ ? SSL_new(ctx_.get()) : nullptr;
}

SSL_CTX* TlsContext::share() const {
  std::lock_guard lock(mu_);
  if (!ctx_) return nullptr;
  SSL_CTX_up_ref(ctx_.get());
  return ctx_.get();
}

bool TlsContext::loaded() const {
  std::lock_guard lock(mu_);
  return ctx_ != nullptr;
}

}  // namespace memcoro::server
