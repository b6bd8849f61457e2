// What an io_uring transport could save (issue 13): the trivial server's answers (no store) behind
// the io_uring techniques Asio's backend lacks, on one thread. Connections come from a multishot
// accept; each has one multishot receive into a ring of provided buffers (no receive is submitted
// per request); replies are sends queued while a batch of completions is handled and submitted
// together with the wait for the next batch, so one io_uring_enter serves many connections.
// benchmarks/pinned --floor compares its CPU per request with memcoro's and memcached's: if even
// this floor is not well under memcached, a real io_uring transport cannot be either.
//   uring_floor <port> [defer]     defer: IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "memcoro/exec/connection.hpp"
#include "trivial_runner.hpp"

namespace {

constexpr unsigned kBuffers = 1024;  // provided receive buffers, a power of two
constexpr unsigned kBufferSize = 4096;
constexpr int kGroup = 0;
enum Op : std::uint64_t { accept_op = 0, recv_op = 1, send_op = 2 };

std::uint64_t tag(int fd, Op op) {
  return (static_cast<std::uint64_t>(fd) << 2) | op;
}

struct Conn {
  explicit Conn(int fd_) : fd(fd_), conn(runner, limits) {}
  int fd;
  memcoro::protocol::ParserLimits limits;
  memcoro::bench::TrivialRunner runner;
  memcoro::exec::Connection conn;
  std::string sending;  // owned by the kernel while a send is in flight
  std::string pending;  // replies produced meanwhile
  bool in_flight = false;
  bool closing = false;
  bool dead = false;
};

class Floor {
 public:
  Floor(int listener, bool defer) : listener_(listener) {
    io_uring_params p{};
    p.flags = defer ? (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN) : 0;
    p.cq_entries = 16384;
    p.flags |= IORING_SETUP_CQSIZE;
    if (int rc = io_uring_queue_init_params(4096, &ring_, &p); rc < 0)
      die("io_uring_queue_init", rc);
    const std::size_t ring_bytes = kBuffers * sizeof(io_uring_buf);
    void* mem =
        mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) die("mmap", -errno);
    br_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(br_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(br_);
    reg.ring_entries = kBuffers;
    reg.bgid = kGroup;
    if (int rc = io_uring_register_buf_ring(&ring_, &reg, 0); rc < 0) die("register_buf_ring", rc);
    storage_.resize(std::size_t{kBuffers} * kBufferSize);
    for (unsigned i = 0; i < kBuffers; ++i) give_back(static_cast<unsigned short>(i));
  }

  void run() {
    arm_accept();
    for (;;) {
      if (int rc = io_uring_submit_and_wait(&ring_, 1); rc < 0 && rc != -EINTR) die("submit", rc);
      unsigned head = 0;
      unsigned seen = 0;
      io_uring_cqe* cqe = nullptr;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        handle(cqe);
        ++seen;
      }
      io_uring_cq_advance(&ring_, seen);
      for (Conn* c : touched_) flush(*c);
      touched_.clear();
      for (int fd : dead_) {
        shutdown(fd, SHUT_RDWR);  // ends the multishot receive, which holds the socket
        ::close(fd);
        conns_.erase(fd);
      }
      dead_.clear();
    }
  }

 private:
  static void die(const char* what, int rc) {
    std::fprintf(stderr, "uring_floor: %s: %s\n", what, std::strerror(-rc));
    std::exit(1);
  }

  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (s == nullptr) {
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
    }
    return s;
  }

  void give_back(unsigned short bid) {
    io_uring_buf_ring_add(br_, &storage_[std::size_t{bid} * kBufferSize], kBufferSize, bid,
                          io_uring_buf_ring_mask(kBuffers), 0);
    io_uring_buf_ring_advance(br_, 1);
  }

  void arm_accept() {
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept(s, listener_, nullptr, nullptr, 0);
    io_uring_sqe_set_data64(s, tag(listener_, accept_op));
  }

  void arm_recv(int fd) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = kGroup;
    io_uring_sqe_set_data64(s, tag(fd, recv_op));
  }

  void handle(io_uring_cqe* cqe) {
    const std::uint64_t data = io_uring_cqe_get_data64(cqe);
    const int fd = static_cast<int>(data >> 2);
    const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    switch (static_cast<Op>(data & 3)) {
      case accept_op:
        if (cqe->res >= 0) {
          const int one = 1;
          setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conns_[cqe->res] = std::make_unique<Conn>(cqe->res);
          arm_recv(cqe->res);
        }
        if (!more) arm_accept();
        return;
      case recv_op: {
        auto it = conns_.find(fd);
        if (it == conns_.end() || it->second->dead) return;
        Conn& c = *it->second;
        if (cqe->res == -ENOBUFS) {  // every buffer busy: receive again when they are back
          if (!more) arm_recv(fd);
          return;
        }
        if (cqe->res <= 0) return close_conn(c);
        const auto bid = static_cast<unsigned short>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        feed(c, std::string_view(&storage_[std::size_t{bid} * kBufferSize],
                                 static_cast<std::size_t>(cqe->res)));
        give_back(bid);
        if (!more && !c.closing) arm_recv(fd);
        return;
      }
      case send_op: {
        auto it = conns_.find(fd);
        if (it == conns_.end() || it->second->dead) return;
        Conn& c = *it->second;
        c.in_flight = false;
        if (cqe->res < 0) return close_conn(c);
        c.sending.erase(0, static_cast<std::size_t>(cqe->res));
        touched_.push_back(&c);
        return;
      }
    }
  }

  // Hands received bytes to the connection handler, collecting its replies.
  void feed(Conn& c, std::string_view in) {
    for (;;) {
      const memcoro::exec::Connection::Step step = c.conn.next();
      if (step.kind == memcoro::exec::Connection::Step::close) {
        c.closing = true;
        break;
      }
      if (step.kind == memcoro::exec::Connection::Step::write) {
        c.conn.output().for_each_span([&](std::string_view s) { c.pending.append(s); });
        c.conn.output().clear();
        continue;
      }
      if (in.empty()) break;
      const std::size_t n = std::min(in.size(), step.space.size());
      std::memcpy(step.space.data(), in.data(), n);
      c.conn.received(n);
      in.remove_prefix(n);
    }
    touched_.push_back(&c);
  }

  void flush(Conn& c) {
    if (c.in_flight || c.dead) return;
    if (c.sending.empty()) c.sending.swap(c.pending);
    if (c.sending.empty()) {
      if (c.closing) close_conn(c);
      return;
    }
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, c.fd, c.sending.data(), c.sending.size(), MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, tag(c.fd, send_op));
    c.in_flight = true;
  }

  void close_conn(Conn& c) {
    if (c.in_flight) {  // the send completion closes it
      c.closing = true;
      return;
    }
    if (!c.dead) dead_.push_back(c.fd);
    c.dead = true;  // closed after the batch: touched_ may still point at it
  }

  int listener_;
  io_uring ring_{};
  io_uring_buf_ring* br_ = nullptr;
  std::vector<char> storage_;
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> touched_;
  std::vector<int> dead_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: uring_floor <port> [defer]\n");
    return 64;
  }
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<unsigned short>(std::atoi(argv[1])));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 1024) != 0) {
    std::perror("uring_floor: listen");
    return 1;
  }
  Floor(listener, argc > 2 && std::string_view(argv[2]) == "defer").run();
}
