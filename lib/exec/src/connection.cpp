#include "memcoro/exec/connection.hpp"

#include <algorithm>
#include <cstring>

#include "memcoro/exec/execute.hpp"
#include "memcoro/protocol/ascii_login_parser.hpp"
#include "memcoro/protocol/binary_parser.hpp"

namespace memcoro::exec {

// The read buffer: grows without zero-filling (a 1 MiB value should not
// cost a 1 MiB memset), and stays large while large requests keep coming.
class Connection::Buffer {
 public:
  explicit Buffer(std::size_t n) : data_(std::make_unique_for_overwrite<char[]>(n)), size_(n) {}
  char* data() { return data_.get(); }
  std::size_t size() const { return size_; }
  // Reallocates to n bytes, keeping the first `used`.
  void resize(std::size_t n, std::size_t used) {
    auto next = std::make_unique_for_overwrite<char[]>(n);
    std::memcpy(next.get(), data_.get(), std::min(used, n));
    data_ = std::move(next);
    size_ = n;
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_;
};

Connection::Connection(Runner& runner, const protocol::ParserLimits& limits)
    : runner_(runner), limits_(limits), buf_(std::make_unique<Buffer>(kReadChunk)) {}

Connection::~Connection() = default;

void Connection::note_line(bool block) {
  if (!block_pending_) line_seen_ = true;
  block_pending_ = block;
}

Connection::Step Connection::read_step() {
  // Room to read: move unparsed bytes to the front, grow only when a
  // single request needs more than the buffer holds.
  if (start_ == end_) {
    start_ = end_ = 0;
  } else if (end_ == buf_->size() && start_ > 0) {
    std::memmove(buf_->data(), buf_->data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  if (end_ == buf_->size()) buf_->resize(buf_->size() * 2, end_);
  return {Step::read, std::span<char>(buf_->data() + end_, buf_->size() - end_)};
}

void Connection::received(std::size_t n) {
  if (phase_ == Phase::watch) return;  // a watcher's input is ignored, as memcached ignores it
  if (phase_ == Phase::in_place) {
    // The rest of a large value arrived in its item.
    // (A binary value has no "\r\n" to check.)
    const char* end = in_place_end_;
    runner_.finish_value(cmd_, binary_ || (end[-2] == '\r' && end[-1] == '\n'), out_);
    phase_ = Phase::parse;
    return;
  }
  last_read_ = n;
  end_ += n;
  if (first_read_ && n > 0) {
    first_read_ = false;
    // memcached picks the protocol by the connection's first byte, once,
    // unless -B (or -S, -Y) binds every connection to one.
    switch (runner_.binding()) {
      case Binding::auto_detect:
        binary_ = static_cast<unsigned char>(buf_->data()[0]) == protocol::binary::kRequestMagic;
        break;
      case Binding::ascii: binary_ = false; break;
      case Binding::binary: binary_ = true; break;
    }
  }
}

void Connection::shrink_after_batch() {
  // Keep memory bounded after a large request: give it back only after a
  // run of small ones.
  if (start_ != end_ || buf_->size() <= kReadChunk) return;
  small_batches_ = last_read_ < kReadChunk ? small_batches_ + 1 : 0;
  if (small_batches_ >= 64) {
    buf_->resize(kReadChunk, 0);
    start_ = end_ = 0;
    small_batches_ = 0;
  }
}

Connection::Step Connection::next() {
  switch (phase_) {
    case Phase::closed: return {Step::close, {}};
    case Phase::closing:
      phase_ = Phase::closed;
      return out_.empty() ? Step{Step::close, {}} : Step{Step::write, {}};
    case Phase::more: {
      // A multi-get over the reply limit goes on where it stopped (cmd_
      // still points into the buffer, which has not moved).
      const After after = runner_.run(cmd_, out_);
      if (after == After::more) return {Step::write, {}};
      phase_ = Phase::parse;
      if (after == After::close) {
        phase_ = Phase::closing;
        return next();
      }
      return parse();
    }
    case Phase::in_place: return {Step::read_exact, in_place_rest_};  // asked again
    case Phase::watch:
      if (out_.empty() && !runner_.pull_log(out_)) {
        return {Step::wait, std::span<char>(buf_->data(), buf_->size())};
      }
      return {Step::write, {}};
    case Phase::parse: return parse();
  }
  return {Step::close, {}};
}

Connection::Step Connection::parse() {
  for (;;) {
    if (swallow_ > 0) {
      const std::size_t k = std::min(swallow_, end_ - start_);
      start_ += k;
      swallow_ -= k;
      if (swallow_ > 0) break;
    }
    if (start_ == end_) break;
    const std::string_view pending(buf_->data() + start_, end_ - start_);
    const protocol::ParseResult r = binary_ ? protocol::parse_binary(pending, cmd_, limits_)
                                    : runner_.needs_login()
                                        ? protocol::parse_ascii_login(pending, cmd_)
                                        : protocol::parse_text(pending, cmd_, limits_);
    if (r.status == protocol::ParseStatus::need_more) {
      if (!r.block) break;
      note_line(true);
      if (!runner_.admit(cmd_, out_)) {
        phase_ = Phase::closing;
        return next();
      }
      const std::size_t block = cmd_.data_len + std::size_t{binary_ ? 0u : 2u};
      if (block >= kInPlaceMin) {
        const std::size_t body = start_ + r.consumed;
        const Runner::Value v = runner_.begin_value(cmd_, out_);
        if (v.kind == Runner::Value::refused) {  // answered: skip the block as it comes
          block_pending_ = false;
          start_ = body;
          swallow_ = block;
          continue;
        }
        if (v.kind == Runner::Value::in_place) {
          // A large value: receive the rest of it straight into its item
          // instead of into the read buffer and then copying it.
          block_pending_ = false;
          const std::size_t have = std::min(end_ - body, block);
          std::memcpy(v.space.data(), buf_->data() + body, have);
          start_ = body + have;
          in_place_end_ = v.space.data() + block;
          in_place_rest_ = v.space.subspan(have, block - have);
          phase_ = Phase::in_place;
          return {Step::read_exact, in_place_rest_};
        }
      }
      if (r.need > buf_->size()) {
        // A data block larger than the buffer: make room for all of it
        // (bounded by the item size limit, checked by the parser).
        std::memmove(buf_->data(), buf_->data() + start_, end_ - start_);
        end_ -= start_;
        start_ = 0;
        buf_->resize(r.need, end_);
      }
      break;
    }
    note_line(false);
    if (r.status == protocol::ParseStatus::close) {
      phase_ = Phase::closing;
      return next();
    }
    if (r.status == protocol::ParseStatus::error) {
      if (!r.silent) runner_.refuse(r.error, out_);
      start_ += r.consumed;
      swallow_ = r.swallow;  // a refused meta set's data block
      continue;
    }
    const After after = runner_.run(cmd_, out_);
    start_ += r.consumed;
    swallow_ = r.swallow;
    if (after == After::more) {
      // The rest runs after this part is written (cmd_ points into the
      // buffer, which only moves once the batch is done).
      phase_ = Phase::more;
      return {Step::write, {}};
    }
    if (after == After::close) {
      phase_ = Phase::closing;
      return next();
    }
    if (after == After::watch) {
      // What was sent after `watch` is never run (memcached's watcher
      // connection no longer parses).
      start_ = end_ = 0;
      swallow_ = 0;
      phase_ = Phase::watch;
      return next();
    }
    // Pipelined requests: no more replies pile up than the limit.
    if (out_.size() >= runner_.reply_limit()) return {Step::write, {}};
  }
  if (!out_.empty()) return {Step::write, {}};
  shrink_after_batch();
  return read_step();
}

}  // namespace memcoro::exec
