#pragma once
// One client connection's protocol side, without a socket: bytes in, reply
// pieces out. It owns the read buffer (growth, compaction, giving memory
// back), the parse -> run loop, skipping a refused value's bytes, large
// values received straight into item memory, per-connection protocol
// selection, and the decision to close. A transport (the server's TCP
// coroutine, the fuzzer, the tests, the trivial reference server) only
// does what next() asks:
//
//   for (;;) {
//     Step s = conn.next();
//     read:        n = read_some(s.space);  conn.received(n);   (n == 0: the peer left)
//     read_exact:  read all of s.space;     conn.received(s.space.size());
//     write:       write conn.output()'s spans, then conn.output().clear();
//     close:       stop (everything to say was asked to be written before).
//     wait:        (a `watch` connection) nothing to write until the runner
//                  has log lines: call next() again once woken, or once
//                  bytes arrive (read them into s.space and call received();
//                  n == 0: the peer left).
//   }
//
// A second wire protocol is a second parse/run mode chosen here by the first
// byte; a second transport is a second loop like the above.
#include <cstddef>
#include <memory>
#include <span>

#include "memcoro/exec/output.hpp"
#include "memcoro/protocol/command.hpp"
#include "memcoro/protocol/text_parser.hpp"

namespace memcoro::exec {

// What a request leaves the connection to do. more: the reply so far is
// over the reply limit; send it, then run the same command again to go on
// where it stopped. watch: the connection became a `watch` connection;
// from now on it only sends log lines (pull_log()), and what it receives is
// ignored, as memcached ignores it.
enum class After : unsigned char { keep_open, close, more, watch };

// How a connection's bytes are read (memcached's -B): by its first byte
// (0x80: binary), or always as one protocol.
enum class Binding : unsigned char { auto_detect, ascii, binary };

// What a connection runs its requests against: the store (StoreRunner,
// runner.hpp) or, in benchmarks/trivial_server, nothing at all.
class Runner {
 public:
  virtual ~Runner() = default;
  // One parsed request, its reply appended to `out`. After::more: the reply
  // is over the reply limit; it is sent, then run() is called again with
  // the same command.
  virtual After run(const protocol::Command& cmd, Output& out) = 0;
  // A parse error's reply (memcached's text), unless the parser says silent.
  virtual void refuse(std::string_view error, Output& out) = 0;
  // A storage command whose data block (cmd.data_len bytes, and \r\n for
  // text) has not all arrived: `in_place` with where to receive it (the item's own
  // memory), `refused` when the command was already answered and its block
  // is to be skipped, or `buffer` to take it through the read buffer.
  struct Value {
    enum Kind : unsigned char { buffer, refused, in_place } kind = buffer;
    std::span<char> space;
  };
  virtual Value begin_value(const protocol::Command& cmd, Output& out) = 0;
  // The in-place block arrived (`well_formed`: a text block ends with
  // \r\n): store and answer, or answer the bad chunk.
  virtual void finish_value(const protocol::Command& cmd, bool well_formed, Output& out) = 0;
  // Replies queued past this many bytes go out before more requests run.
  virtual std::size_t reply_limit() const = 0;

  // Authentication (auth.hpp); a runner without it keeps the defaults.
  virtual Binding binding() const { return Binding::auto_detect; }
  // -Y: the connection has not logged in, so its lines are read by
  // parse_ascii_login() instead of parse_text().
  virtual bool needs_login() const { return false; }
  // A request whose value has not all arrived: false when it may not run
  // at all (answered; the connection closes now, as memcached closes it
  // before reading the value).
  virtual bool admit(const protocol::Command& /*cmd*/, Output& /*out*/) { return true; }
  // After::watch: the log lines waiting, appended to out; false if none.
  virtual bool pull_log(Output& /*out*/) { return false; }
};

class Connection {
 public:
  struct Step {
    enum Kind : unsigned char { read, read_exact, write, close, wait } kind;
    std::span<char> space;  // read: room for up to this much; read_exact: all of it
  };
  // Read buffer starting size; data blocks of at least kInPlaceMin bytes
  // that have not all arrived go straight into their item.
  static constexpr std::size_t kReadChunk = 16 * 1024;
  static constexpr std::size_t kInPlaceMin = 16 * 1024;

  Connection(Runner& runner, const protocol::ParserLimits& limits);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Step next();
  void received(std::size_t n);
  Output& output() { return out_; }
  // A complete command line arrived since the last call (the data block of
  // a storage command counts with its line, once). The idle timeout
  // restarts from it.
  // Bytes of an unfinished request are held: a line without its end, or a
  // storage command whose data block has not all arrived.
  bool mid_request() const { return start_ != end_ || swallow_ > 0 || phase_ == Phase::in_place; }
  bool take_line_seen() {
    const bool seen = line_seen_;
    line_seen_ = false;
    return seen;
  }

 private:
  enum class Phase : unsigned char { parse, more, in_place, closing, closed, watch };
  Step parse();
  Step read_step();
  void note_line(bool block);
  void shrink_after_batch();

  class Buffer;
  Runner& runner_;
  const protocol::ParserLimits& limits_;
  std::unique_ptr<Buffer> buf_;
  std::size_t start_ = 0;  // unparsed bytes are buf[start_, end_)
  std::size_t end_ = 0;
  std::size_t swallow_ = 0;  // bytes of a refused data block still to skip
  std::size_t last_read_ = 0;
  unsigned small_batches_ = 0;  // in a row, while the buffer is large
  bool first_read_ = true;
  bool binary_ = false;         // the first byte was 0x80: binary protocol
  bool block_pending_ = false;  // a storage line was seen; its block is arriving
  bool line_seen_ = false;
  Phase phase_ = Phase::parse;
  char* in_place_end_ = nullptr;   // one past the in-place block's last byte
  std::span<char> in_place_rest_;  // what of it is still to arrive
  protocol::Command cmd_;
  Output out_;
};

}  // namespace memcoro::exec
