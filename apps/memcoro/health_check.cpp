#include "health_check.hpp"

#include <netdb.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace memcoro {
namespace {

using Clock = std::chrono::steady_clock;

// Closes the descriptor on every way out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

// A wildcard address is probed on loopback.
std::string probe_host(const std::string& host) {
  if (host.empty() || host == "0.0.0.0" || host == "*") return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

int unhealthy(const std::string& where, const char* what) {
  std::fprintf(stderr, "memcoro: health check of %s failed: %s\n", where.c_str(), what);
  return 1;
}

constexpr std::string_view kRequest = "version\r\n";

// `version` and its reply line over a connected socket: null, or what failed.
const char* version_over_tcp(int fd, Clock::time_point deadline, std::string& reply) {
  if (::send(fd, kRequest.data(), kRequest.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(kRequest.size())) {
    return "cannot send";
  }
  while (reply.find("\r\n") == std::string::npos && reply.size() < 256) {
    if (!wait_for(fd, POLLIN, deadline)) return "no answer in time";
    char buf[256];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return "connection closed before an answer";
    reply.append(buf, static_cast<std::size_t>(n));
  }
  return nullptr;
}

// The same through TLS (-Z without a notls: listener). The server's
// certificate is not verified: the probe asks whether this server answers,
// and the server is the one on this machine that the settings describe.
const char* version_over_tls(int fd, Clock::time_point deadline, std::string& reply) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  if (!ctx) return "cannot create a TLS context";
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) return "cannot create a TLS connection";
  // Each step again until it is done, waiting for what OpenSSL wants.
  auto until_done = [&](auto&& step) -> bool {
    for (;;) {
      const int r = step();
      if (r > 0) return true;
      const int e = SSL_get_error(ssl.get(), r);
      if (e == SSL_ERROR_WANT_READ && wait_for(fd, POLLIN, deadline)) continue;
      if (e == SSL_ERROR_WANT_WRITE && wait_for(fd, POLLOUT, deadline)) continue;
      return false;
    }
  };
  if (!until_done([&] { return SSL_connect(ssl.get()); })) return "TLS handshake failed";
  if (!until_done([&] {
        return SSL_write(ssl.get(), kRequest.data(), static_cast<int>(kRequest.size()));
      })) {
    return "cannot send";
  }
  while (reply.find("\r\n") == std::string::npos && reply.size() < 256) {
    char buf[256];
    int n = 0;
    if (!until_done([&] { return n = SSL_read(ssl.get(), buf, sizeof buf); })) {
      return "connection closed before an answer";
    }
    reply.append(buf, static_cast<std::size_t>(n));
  }
  return nullptr;
}

}  // namespace

int health_check(const config::Settings& settings, int timeout_ms) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  Fd sock;
  std::string where;
  int rc = -1;
  bool use_tls = false;
  if (!settings.unix_socket.empty()) {
    where = "unix socket " + settings.unix_socket;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (settings.unix_socket.size() >= sizeof addr.sun_path)
      return unhealthy(where, "path too long");
    std::memcpy(addr.sun_path, settings.unix_socket.data(), settings.unix_socket.size());
    sock.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sock.fd >= 0) rc = ::connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } else {
    // The first plain address of the listen list, else the first (in TLS).
    std::vector<config::ListenAddress> addrs;
    if (std::string e = config::listen_addresses(settings, addrs); !e.empty())
      return unhealthy(settings.listen, e.c_str());
    const config::ListenAddress* target = &addrs.front();
    for (const config::ListenAddress& a : addrs) {
      if (!settings.ssl_enabled || !a.tls) {
        target = &a;
        break;
      }
    }
    use_tls = settings.ssl_enabled && target->tls;
    const std::string host = probe_host(target->host);
    const std::string port = std::to_string(target->port);
    where = host + " port " + port;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
      return unhealthy(where, "cannot resolve the address");
    }
    sock.fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sock.fd >= 0) rc = ::connect(sock.fd, found->ai_addr, found->ai_addrlen);
    ::freeaddrinfo(found);
  }
  if (sock.fd < 0 || (rc != 0 && errno != EINPROGRESS && errno != EAGAIN))
    return unhealthy(where, std::strerror(errno));
  if (!wait_for(sock.fd, POLLOUT, deadline)) return unhealthy(where, "no connection in time");
  int error = 0;
  socklen_t len = sizeof error;
  ::getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &error, &len);
  if (error != 0) return unhealthy(where, std::strerror(error));

  std::string reply;
  if (const char* e = use_tls ? version_over_tls(sock.fd, deadline, reply)
                              : version_over_tcp(sock.fd, deadline, reply)) {
    return unhealthy(where, e);
  }
  if (!reply.starts_with("VERSION ")) return unhealthy(where, "answer is not VERSION");
  return 0;
}

bool health_check_settings(int argc, char** argv, config::Settings& out, std::string& error) {
  std::vector<std::string> args(argv, argv + argc);
  if (argc == 2) {  // only --health-check: probe the server in process 1, if memcoro
    std::ifstream f("/proc/1/cmdline", std::ios::binary);
    const std::string cmdline{std::istreambuf_iterator<char>(f), {}};
    std::vector<std::string> theirs;
    for (std::size_t at = 0; at < cmdline.size();) {
      const std::size_t end = cmdline.find('\0', at);
      theirs.push_back(cmdline.substr(at, end - at));
      at = end == std::string::npos ? cmdline.size() : end + 1;
    }
    const std::string_view exe = theirs.empty() ? "" : std::string_view(theirs[0]);
    if (exe == "memcoro" || exe.ends_with("/memcoro")) {
      args = std::move(theirs);
      args.emplace_back("--health-check");
    }
  }
  std::vector<char*> pointers;
  for (std::string& a : args) pointers.push_back(a.data());
  pointers.push_back(nullptr);
  const config::LoadResult loaded =
      config::load(static_cast<int>(args.size()), pointers.data(), out);
  if (loaded.action != config::LoadResult::Action::health_check) {
    error =
        loaded.message.empty() ? "memcoro: cannot read the server's settings\n" : loaded.message;
    return false;
  }
  return true;
}

}  // namespace memcoro
