#include "tls_channel.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace memcoro::server {

// The BIO between OpenSSL and the socket.
struct TlsBio {
  static TlsChannel& of(BIO* b) { return *static_cast<TlsChannel*>(BIO_get_data(b)); }

  static int read(BIO* b, char* out, int len) {
    TlsChannel& ch = of(b);
    BIO_clear_retry_flags(b);
    if (len <= 0) return 0;
    for (;;) {
      if (!ch.readable_) {
        BIO_set_retry_read(b);
        return -1;
      }
      const ssize_t n = ::recv(ch.fd_, out, static_cast<std::size_t>(len), MSG_DONTWAIT);
      if (n > 0) {
        if (n < len) ch.readable_ = false;
        return static_cast<int>(n);
      }
      if (n == 0) return 0;  // the peer closed
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        ch.readable_ = false;
        continue;
      }
      return -1;  // broken: not retryable
    }
  }

  static int write(BIO* b, const char* in, int len) {
    TlsChannel& ch = of(b);
    BIO_clear_retry_flags(b);
    for (;;) {
      if (!ch.writable_) {
        BIO_set_retry_write(b);
        return -1;
      }
      const ssize_t n =
          ::send(ch.fd_, in, static_cast<std::size_t>(len), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) return static_cast<int>(n);
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        ch.writable_ = false;
        continue;
      }
      return -1;
    }
  }

  static long ctrl(BIO*, int cmd, long, void*) {
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;  // nothing is buffered here
  }

  static int create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }

  static const BIO_METHOD* method() {
    static const BIO_METHOD* m = [] {
      BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "memcoro socket");
      BIO_meth_set_read(bm, &TlsBio::read);
      BIO_meth_set_write(bm, &TlsBio::write);
      BIO_meth_set_ctrl(bm, &TlsBio::ctrl);
      BIO_meth_set_create(bm, &TlsBio::create);
      return bm;
    }();
    return m;
  }
};

TlsChannel::TlsChannel(SSL* ssl, int fd, bool& readable, bool& writable)
    : ssl_(ssl), fd_(fd), readable_(readable), writable_(writable) {
  BIO* bio = BIO_new(TlsBio::method());
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways; the SSL object owns it
  SSL_set_accept_state(ssl_);
  ERR_clear_error();  // the queue is per thread: start each connection with it empty
}

TlsChannel::~TlsChannel() {
  SSL_free(ssl_);
}

TlsChannel::Result TlsChannel::map_error(int ret) {
  const int err = SSL_get_error(ssl_, ret);
  switch (err) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: return {0, Status::wait};
    case SSL_ERROR_ZERO_RETURN: ERR_clear_error(); return {0, Status::closed};
    default: break;
  }
  // SSL_ERROR_SSL: a protocol error; SSL_ERROR_SYSCALL: the socket broke or
  // the peer left without close_notify.
  fatal_ = true;
  // As memcached counts them: a client that leaves before the handshake is
  // done counts too.
  if (!SSL_is_init_finished(ssl_)) handshake_failed_ = true;
  ERR_clear_error();
  return {0, err == SSL_ERROR_SYSCALL ? Status::closed : Status::failed};
}

// No ERR_clear_error() before each call: the constructor and every error
// path (map_error, shutdown) leave this thread's queue empty; clearing it on
// every read cost 2.3% of a TLS request's CPU (benchmarks/RESULTS.md).
TlsChannel::Result TlsChannel::read(char* p, std::size_t n) {
  const int ret = SSL_read(ssl_, p, static_cast<int>(std::min<std::size_t>(n, INT_MAX)));
  if (ret > 0) return {static_cast<std::size_t>(ret), Status::ok};
  return map_error(ret);
}

TlsChannel::Result TlsChannel::write(const char* p, std::size_t n) {
  const int ret = SSL_write(ssl_, p, static_cast<int>(std::min<std::size_t>(n, INT_MAX)));
  if (ret > 0) return {static_cast<std::size_t>(ret), Status::ok};
  return map_error(ret);
}

bool TlsChannel::pending() const {
  return SSL_has_pending(ssl_) == 1;
}

void TlsChannel::shutdown() {
  if (!fatal_ && SSL_is_init_finished(ssl_)) (void)SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace memcoro::server
