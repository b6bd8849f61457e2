#include "health_check.hpp"

#include <netdb.h>
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

}  // namespace

int health_check(const config::Settings& settings, int timeout_ms) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  Fd sock;
  std::string where;
  int rc = -1;
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
    // The first address of the listen list.
    std::vector<config::ListenAddress> addrs;
    if (std::string e = config::listen_addresses(settings, addrs); !e.empty())
      return unhealthy(settings.listen, e.c_str());
    const std::string host = probe_host(addrs.front().host);
    const std::string port = std::to_string(addrs.front().port);
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

  constexpr std::string_view request = "version\r\n";
  if (::send(sock.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return unhealthy(where, "cannot send");
  }
  std::string reply;
  while (reply.find("\r\n") == std::string::npos && reply.size() < 256) {
    if (!wait_for(sock.fd, POLLIN, deadline)) return unhealthy(where, "no answer in time");
    char buf[256];
    const ssize_t n = ::recv(sock.fd, buf, sizeof buf, 0);
    if (n <= 0) return unhealthy(where, "connection closed before an answer");
    reply.append(buf, static_cast<std::size_t>(n));
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
