#pragma once
// A client for memcached's meta protocol: build a request, write it, parse
// responses from whatever bytes have arrived. No I/O here (connection.hpp has
// the Asio side), and no validation on the hot path: the server says what it
// thinks of a bad request.
#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace memcoro::client {

enum class Command : char { get = 'g', set = 's', del = 'd', arith = 'a', noop = 'n' };

class Request {
 public:
  static Request get(std::string_view key) { return Request(Command::get, key); }
  static Request set(std::string_view key, std::string_view value) {
    Request r(Command::set, key);
    r.value_ = value;
    return r;
  }
  static Request del(std::string_view key) { return Request(Command::del, key); }
  static Request arith(std::string_view key) { return Request(Command::arith, key); }
  static Request noop() { return Request(Command::noop, {}); }

  // Flags; each appends one token, in the order called.
  Request& return_value() { return flag('v'); }
  Request& return_cas() { return flag('c'); }
  Request& return_flags() { return flag('f'); }
  Request& return_ttl() { return flag('t'); }
  Request& return_key() { return flag('k'); }
  Request& return_size() { return flag('s'); }
  Request& return_hit() { return flag('h'); }
  Request& return_last_access() { return flag('l'); }
  Request& no_bump() { return flag('u'); }
  Request& quiet() { return flag('q'); }
  Request& invalidate() { return flag('I'); }
  Request& base64_key() {
    base64_ = true;
    return flag('b');
  }
  Request& ttl(std::int64_t seconds) { return number('T', seconds); }
  Request& compare_cas(std::uint64_t cas) { return unumber('C', cas); }
  Request& new_cas(std::uint64_t cas) { return unumber('E', cas); }
  Request& client_flags(std::uint32_t flags) { return unumber('F', flags); }
  Request& vivify(std::int64_t ttl) { return number('N', ttl); }
  Request& recache(std::int64_t ttl) { return number('R', ttl); }
  Request& delta(std::uint64_t d) { return unumber('D', d); }
  Request& initial(std::uint64_t v) { return unumber('J', v); }
  Request& opaque(std::uint32_t token) { return unumber('O', token); }
  // ms: E add, A append, P prepend, R replace, S set; ma: I/+ incr, D/- decr.
  Request& mode(char m) {
    char t[2] = {'M', m};
    return raw(std::string_view(t, 2));
  }

  Command command() const { return cmd_; }
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }
  bool base64() const { return base64_; }
  std::string_view flags() const { return {flags_.data(), flags_len_}; }
  bool is_quiet() const { return flags().find('q') != std::string_view::npos; }

 private:
  Request(Command cmd, std::string_view key) : cmd_(cmd), key_(key) {}
  Request& flag(char f) { return raw(std::string_view(&f, 1)); }
  Request& number(char f, std::int64_t v);
  Request& unumber(char f, std::uint64_t v);
  Request& raw(std::string_view token);

  Command cmd_;
  bool base64_ = false;
  std::string_view key_;
  std::string_view value_;
  // " v c T30 ..." : tokens with their leading spaces; no allocation.
  std::array<char, 120> flags_;  // filled up to flags_len_
  std::size_t flags_len_ = 0;
};

// Appends the request's bytes to `out` (a base64 key is encoded here).
void write_request(const Request& req, std::string& out);
// The same, to a stream.
void write_request(const Request& req, std::ostream& out);

enum class Status : std::uint8_t {
  value,       // VA: hit, with a value
  ok,          // HD: done / hit without value
  miss,        // EN
  not_stored,  // NS
  exists,      // EX: CAS mismatch
  not_found,   // NF
  noop,        // MN
  debug,       // ME
  error,       // in a batch: an error reply to one request (text in `line`)
};

struct Response {
  Status status = Status::miss;
  std::string value;  // VA's data block; ME's line after the key
  std::string line;   // the status line's flags, e.g. "s3 c99 W"

  bool hit() const { return status == Status::value || status == Status::ok; }
  bool miss() const { return status == Status::miss; }
  std::optional<std::uint64_t> cas() const { return number('c'); }
  std::optional<std::int64_t> ttl() const;
  std::optional<std::uint64_t> client_flags() const { return number('f'); }
  std::optional<std::uint64_t> size() const { return number('s'); }
  std::optional<std::string_view> opaque() const { return token('O'); }
  std::optional<std::string_view> key() const { return token('k'); }
  bool win() const { return token('W').has_value(); }
  bool stale() const { return token('X').has_value(); }
  bool already_won() const { return token('Z').has_value(); }

  // The token (without its letter) of the returned flag `f`.
  std::optional<std::string_view> token(char f) const;
  std::optional<std::uint64_t> number(char f) const;
};

// An error reply or a broken stream, and whether the connection is still
// usable afterwards.
struct Error {
  enum class Kind : std::uint8_t { client, server, generic, parse, io };
  Kind kind;
  std::string message;
  // CLIENT_ERROR, SERVER_ERROR and ERROR leave the stream in step; a reply
  // we cannot parse, or an I/O failure, does not.
  bool must_close() const { return kind == Kind::parse || kind == Kind::io; }
};

enum class ReadStatus : std::uint8_t { complete, need_more, error };

struct ReadResult {
  ReadStatus status = ReadStatus::need_more;
  std::size_t consumed = 0;  // bytes of one response (complete and error)
  std::optional<Error> error;
};

// Parses one response from the bytes received so far.
ReadResult read_response(std::string_view in, Response& out);

// Parses responses up to and including the MN that ends a quiet batch;
// `out` gets every response before the MN (an error reply to one request
// becomes a Status::error response). need_more leaves `out` as it was, so
// the caller can retry with more bytes from the same start.
ReadResult read_batch(std::string_view in, std::vector<Response>& out);

}  // namespace memcoro::client
