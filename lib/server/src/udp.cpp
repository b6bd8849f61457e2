// memcached's UDP protocol (-U): every datagram starts with an 8-byte frame
// header (request id, sequence number, datagram count, reserved, big
// endian) and carries whole requests; each reply goes back as one message
// of as many datagrams as it needs, at most 1400 bytes each with the header.
// memcached 1.6.18's message boundaries are kept: a multi-key get answers
// one message per key (a miss an empty one; END closes the last), every
// other command one message, a silent command none. A datagram of 8 bytes
// or less, or one that says it is part of a multi-datagram request, is
// dropped (memcached drops them too) and counted.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "memcoro/exec/feed.hpp"
#include "server_impl.hpp"

namespace memcoro::server {
namespace {

constexpr std::size_t kHeader = 8;
constexpr std::size_t kDatagram = 1400;  // memcached's UDP_MAX_PAYLOAD_SIZE, header included
constexpr std::size_t kMaxRequest = 65536;

bool is_multi_get(const protocol::Command& cmd) {
  using protocol::CommandType;
  if (cmd.binary) return false;
  if (cmd.type != CommandType::get && cmd.type != CommandType::gets &&
      cmd.type != CommandType::gat && cmd.type != CommandType::gats) {
    return false;
  }
  std::size_t pos = 0;
  protocol::next_key(cmd.key_list, pos);
  return !protocol::next_key(cmd.key_list, pos).empty();
}

std::string flatten(const exec::Output& out) {
  std::string s;
  out.for_each_span([&](std::string_view span) { s.append(span); });
  return s;
}

// Runs requests with a StoreRunner and keeps each reply as its own message.
class MessageRunner final : public exec::Runner {
 public:
  explicit MessageRunner(exec::Context& ctx) : inner_(ctx) {}
  std::vector<std::string> messages;

  exec::After run(const protocol::Command& cmd, exec::Output&) override {
    if (!is_multi_get(cmd)) {
      exec::Output out;
      const exec::After after = inner_.run(cmd, out);
      keep(out);
      return after;
    }
    // memcached 1.6.18's response objects, as its datagrams show them: the
    // first key has its own message (empty on a miss: a header that counts
    // 0 datagrams); each later hit starts a message unless the one before
    // is still empty (misses after the first key share the next message);
    // END ends the last.
    std::size_t pos = 0;
    std::string_view key = protocol::next_key(cmd.key_list, pos);
    std::size_t index = 0;  // of the key
    while (!key.empty()) {
      protocol::Command one = cmd;
      one.key_list = key;
      key = protocol::next_key(cmd.key_list, pos);
      exec::Output out;
      inner_.run(one, out);
      std::string m = flatten(out);
      if (index++ <= 1 || !messages.back().empty()) messages.emplace_back();
      if (!m.ends_with("END\r\n")) {  // an error (a bad key) ends the command
        messages.back() += m;
        return exec::After::keep_open;
      }
      m.resize(m.size() - 5);
      messages.back() += m;
    }
    messages.back() += "END\r\n";
    return exec::After::keep_open;
  }
  void refuse(std::string_view error, exec::Output&) override {
    exec::Output out;
    inner_.refuse(error, out);
    keep(out);
  }
  Value begin_value(const protocol::Command& cmd, exec::Output&) override {
    exec::Output out;
    const Value v = inner_.begin_value(cmd, out);
    keep(out);
    return v;
  }
  void finish_value(const protocol::Command& cmd, bool well_formed, exec::Output&) override {
    exec::Output out;
    inner_.finish_value(cmd, well_formed, out);
    keep(out);
  }
  std::size_t reply_limit() const override { return SIZE_MAX; }  // a datagram is small

 private:
  void keep(const exec::Output& out) {
    if (!out.empty()) messages.push_back(flatten(out));
  }
  exec::StoreRunner inner_;
};

}  // namespace

Server::Impl::UdpSocket::UdpSocket(Impl& server, Worker& w, int fd)
    : server_(server), w_(w), fd_(fd), buffer_(kMaxRequest) {}

Server::Impl::UdpSocket::~UdpSocket() {
  ::close(fd_);
}

void Server::Impl::UdpSocket::on_ready(std::uint32_t events) {
  if ((events & EPOLLIN) == 0) return;
  for (;;) {  // edge triggered: until the socket is empty
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    const ssize_t n = ::recvfrom(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&peer), &peer_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN, or an error a datagram socket reports once
    }
    w_.counters.bytes_read.add(static_cast<std::uint64_t>(n));
    serve(static_cast<std::size_t>(n), peer, peer_len);
  }
}

void Server::Impl::UdpSocket::serve(std::size_t n, const sockaddr_storage& peer,
                                    socklen_t peer_len) {
  const auto* h = reinterpret_cast<const unsigned char*>(buffer_.data());
  if (n <= kHeader || h[4] != 0 || h[5] != 1) {
    w_.counters.udp_dropped.add();
    return;
  }
  exec::Context ctx{.store = server_.store,
                    .counters = w_.counters,
                    .control = &server_,
                    .prefixes = &server_.prefix_stats,
                    .latency_sample = server_.live.latency_sample(),
                    .auth = server_.auth};
  MessageRunner runner(ctx);
  exec::Connection conn(runner, server_.limits);
  // A request cut off at the datagram's end is dropped (no `watch` over
  // UDP); the runner keeps the replies as messages.
  exec::feed(conn, std::string_view(buffer_.data() + kHeader, n - kHeader),
             [](const exec::Output&) { return true; });
  for (const std::string& m : runner.messages) send(h, m, peer, peer_len);
}

// One message, in datagrams of kDatagram bytes at most, numbered from 0.
void Server::Impl::UdpSocket::send(const unsigned char* request_header, std::string_view message,
                                   const sockaddr_storage& peer, socklen_t peer_len) {
  const std::size_t room = kDatagram - kHeader;
  // An empty message (a multi-get's first key missed) is one datagram that
  // counts 0, as memcached sends it.
  const std::size_t count = (message.size() + room - 1) / room;
  if (count > 0xffff) return;  // more than the header can number; memcached's limit too
  char datagram[kDatagram];
  for (std::size_t seq = 0; seq < std::max<std::size_t>(count, 1); ++seq) {
    const std::string_view part = message.substr(seq * room, room);
    datagram[0] = static_cast<char>(request_header[0]);  // the request id, echoed
    datagram[1] = static_cast<char>(request_header[1]);
    datagram[2] = static_cast<char>(seq >> 8);
    datagram[3] = static_cast<char>(seq & 0xff);
    datagram[4] = static_cast<char>(count >> 8);
    datagram[5] = static_cast<char>(count & 0xff);
    datagram[6] = 0;
    datagram[7] = 0;
    std::memcpy(datagram + kHeader, part.data(), part.size());
    const std::size_t len = kHeader + part.size();
    // A full send buffer drops the datagram: UDP promises no delivery, and
    // a client that does not read must not stall the worker.
    const ssize_t sent = ::sendto(fd_, datagram, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                                  reinterpret_cast<const sockaddr*>(&peer), peer_len);
    if (sent > 0) w_.counters.bytes_written.add(static_cast<std::uint64_t>(sent));
  }
}

}  // namespace memcoro::server
