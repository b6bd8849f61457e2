#pragma once
// One connection's TLS: an OpenSSL SSL object reading and writing the socket
// through a BIO of our own, which keeps the connection's edge-triggered
// readiness flags as the plain path does (connection.cpp): a receive that
// comes back short, or would block, marks the socket drained; a send that
// would block marks it full; and neither calls the kernel while its flag is
// down. So a TLS request costs one receive and one send too.
#include <sys/types.h>

#include <cstddef>

using SSL = struct ssl_st;

namespace memcoro::server {

class TlsChannel {
 public:
  // Takes `ssl` (a server-side SSL object) and serves it over `fd`, with
  // the connection's readiness flags.
  TlsChannel(SSL* ssl, int fd, bool& readable, bool& writable);
  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  enum class Status { ok, wait, closed, failed };
  struct Result {
    std::size_t bytes = 0;  // with ok: how many
    Status status = Status::ok;
  };
  // Plaintext in (the handshake runs first, inside the first read).
  Result read(char* p, std::size_t n);
  // Plaintext out: all of it, as one or more records, or wait (call again
  // with the same bytes once the socket is writable).
  Result write(const char* p, std::size_t n);
  // Decrypted or raw bytes that OpenSSL holds: readable without the socket.
  bool pending() const;
  // The handshake failed (a client that does not speak TLS, a refused
  // certificate, an unwanted protocol version): memcached's
  // ssl_handshake_errors.
  bool handshake_failed() const { return handshake_failed_; }
  // Sends close_notify if the socket takes it now (never waits).
  void shutdown();

 private:
  Result map_error(int ret);
  SSL* ssl_;
  int fd_;
  bool& readable_;
  bool& writable_;
  bool handshake_failed_ = false;
  bool fatal_ = false;  // after a fatal error OpenSSL forbids SSL_shutdown

  friend struct TlsBio;
};

}  // namespace memcoro::server
