#include "memcoro/protocol/text_parser.hpp"

#include <array>
#include <cstring>

#include "memcoro/protocol/base64.hpp"
#include "memcoro/protocol/numbers.hpp"

namespace memcoro::protocol {
namespace {

constexpr std::string_view kError = "ERROR";
constexpr std::string_view kBadFormat = "CLIENT_ERROR bad command line format";
constexpr std::string_view kBadExptime = "CLIENT_ERROR invalid exptime argument";
constexpr std::string_view kBadDelta = "CLIENT_ERROR invalid numeric delta argument";
constexpr std::string_view kBadChunk = "CLIENT_ERROR bad data chunk";
constexpr std::string_view kDeleteUsage =
    "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]";

// memcached tokenizes at most 23 tokens per pass (MAX_TOKENS 24, one slot for
// the terminal token); argument-count checks see at most that many.
constexpr std::size_t kMaxTokens = 23;

struct Tokens {
  std::array<std::string_view, kMaxTokens> tok;
  std::size_t n = 0;  // tokens found in the first pass
  // memcached's "ntokens": tokens plus the terminal one.
  std::size_t ntokens() const { return n + 1; }
};

// Splits on ' ' only, as memcached does (tabs are part of a token).
void tokenize(std::string_view line, Tokens& t) {
  t.n = 0;
  std::size_t i = 0;
  const std::size_t len = line.size();
  while (i < len) {
    while (i < len && line[i] == ' ') ++i;
    if (i == len) break;
    std::size_t start = i;
    while (i < len && line[i] != ' ') ++i;
    t.tok[t.n++] = line.substr(start, i - start);
    if (t.n == kMaxTokens) break;  // the rest stays in the line
  }
}

bool is_get_like(std::string_view in) {
  std::size_t i = 0;
  while (i < in.size() && in[i] == ' ') ++i;
  if (i > 100) return false;
  in.remove_prefix(i);
  return in.starts_with("get ") || in.starts_with("gets ");
}

ParseResult make_error(std::string_view text, std::size_t consumed, bool silent) {
  ParseResult r;
  r.status = ParseStatus::error;
  r.error = text;
  r.consumed = consumed;
  r.silent = silent;
  return r;
}

ParseResult make_complete(std::size_t consumed) {
  ParseResult r;
  r.status = ParseStatus::complete;
  r.consumed = consumed;
  return r;
}

bool noreply_at_end(const Tokens& t) {
  return t.n >= 1 && t.tok[t.n - 1] == "noreply";
}

bool want(std::size_t ntokens, std::size_t a, std::size_t b) {
  return ntokens == a || ntokens == b;
}

// The data block of a storage command (text or ms) whose line is parsed:
// refused unbuffered when too large, waited for, checked for its "\r\n".
ParseResult read_block(std::string_view in, std::size_t line_len, Command& cmd,
                       const ParserLimits& limits, bool silent_errors) {
  const std::size_t block = cmd.data_len + std::size_t{2};
  if (block > limits.max_item_size) {
    cmd.too_large = true;
    ParseResult r = make_complete(line_len);
    r.swallow = block;
    return r;
  }
  const std::size_t total = line_len + block;
  if (in.size() < total) {
    ParseResult r;
    r.status = ParseStatus::need_more;
    r.need = total;
    r.block = true;
    r.consumed = line_len;
    return r;
  }
  if (in[total - 2] != '\r' || in[total - 1] != '\n') {
    return make_error(kBadChunk, total, silent_errors);
  }
  cmd.data = in.substr(line_len, cmd.data_len);
  return make_complete(total);
}

ParseResult parse_storage(std::string_view in, std::size_t line_len, const Tokens& t,
                          CommandType type, Command& cmd, const ParserLimits& limits) {
  const bool handle_cas = type == CommandType::cas;
  cmd.type = type;
  cmd.noreply = noreply_at_end(t);
  if (t.tok[1].size() > kMaxKeyLength) return make_error(kBadFormat, line_len, cmd.noreply);
  cmd.key = t.tok[1];
  auto flags = parse_u32(t.tok[2]);
  auto exptime = parse_i32(t.tok[3]);
  auto vlen = parse_i32(t.tok[4]);
  if (!flags || !exptime || !vlen) return make_error(kBadFormat, line_len, cmd.noreply);
  if (handle_cas) {
    auto c = parse_u64(t.tok[5]);
    if (!c) return make_error(kBadFormat, line_len, cmd.noreply);
    cmd.cas_unique = *c;
  }
  if (*vlen < 0 || *vlen > INT32_MAX - 2) return make_error(kBadFormat, line_len, cmd.noreply);
  cmd.flags = *flags;
  cmd.exptime = *exptime;
  cmd.data_len = static_cast<std::uint32_t>(*vlen);
  return read_block(in, line_len, cmd, limits, cmd.noreply);
}

ParseResult parse_get(std::string_view line, const Tokens& t, CommandType type, bool touch,
                      Command& cmd, std::size_t line_len) {
  cmd.type = type;
  std::size_t first_key = 1;
  if (touch) {
    auto e = parse_i32(t.tok[1]);
    if (!e) return make_error(kBadExptime, line_len, false);
    cmd.exptime = *e;
    first_key = 2;
  }
  if (first_key < t.n) {
    const char* from = t.tok[first_key].data();
    cmd.key_list =
        std::string_view(from, static_cast<std::size_t>(line.data() + line.size() - from));
  }
  // The whole line is refused if any key is too long (checked here, so
  // that no key is looked up first).
  std::size_t pos = 0;
  for (std::string_view k = next_key(cmd.key_list, pos); !k.empty();
       k = next_key(cmd.key_list, pos)) {
    if (k.size() > kMaxKeyLength) return make_error(kBadFormat, line_len, false);
  }
  return make_complete(line_len);
}

// Memory-management commands: the arguments are checked where they are
// run, with memcached's token-count rules (ntokens = arguments + 2).
ParseResult parse_admin(const Tokens& t, CommandType type, Command& cmd, std::size_t line_len) {
  cmd.type = type;
  cmd.noreply = noreply_at_end(t);
  for (std::size_t i = 1; i < t.n; ++i) cmd.args.push_back(t.tok[i]);
  return make_complete(line_len);
}

// --- meta commands ------------------------------------------------------------

// memcached's MFLAG_MAX_OPT_LENGTH: more tokens than this is an error.
constexpr std::size_t kMaxMetaTokens = 20;
constexpr std::size_t kMaxOpaque = 32;

ParseResult error_swallow(std::string_view text, std::size_t consumed, std::size_t swallow) {
  ParseResult r = make_error(text, consumed, false);
  r.swallow = swallow;
  return r;
}

// memcached's _meta_flag_preparse(): flags start at token `start`. Returns
// false with `err` set. Errors found while reading a flag's value are
// remembered and reported after the rest; a duplicate or unknown flag stops
// at once.
bool preparse_meta(const Tokens& t, std::size_t start, Command& cmd, std::string_view& err) {
  MetaFlags& m = cmd.meta;
  bool seen[128] = {};
  bool has_error = false;
  // A flag with a number: remember it, or the error.
  auto take = [&](auto parsed, bool& present, auto& field) {
    if (parsed) {
      present = true;
      field = *parsed;
    } else {
      err = "CLIENT_ERROR bad token in command line format";
      has_error = true;
    }
  };
  for (std::size_t i = start; i < t.n; ++i) {
    const std::string_view tok = t.tok[i];
    const auto o = static_cast<unsigned char>(tok[0]);
    if (o >= 127 || seen[o]) {
      err = "CLIENT_ERROR duplicate flag";
      return false;
    }
    seen[o] = true;
    if (m.count < sizeof m.order) m.order[m.count++] = static_cast<char>(o);
    const std::string_view arg = tok.substr(1);
    switch (o) {
      case 'b': {
        m.base64 = true;
        if (!decode_key_base64(cmd.key, cmd.key_buffer)) {
          err = "CLIENT_ERROR error decoding key";
          has_error = true;
        } else {
          cmd.key = cmd.key_buffer;
        }
        break;
      }
      case 'N': take(parse_i32(arg), m.has_vivify, m.vivify_ttl); break;
      case 'T': take(parse_i32(arg), m.has_ttl, m.ttl); break;
      case 'R': take(parse_i32(arg), m.has_recache, m.recache_ttl); break;
      case 'C': take(parse_u64(arg), m.has_cas, m.cas); break;
      case 'E': take(parse_u64(arg), m.has_new_cas, m.new_cas); break;
      case 'F':
        if (auto v = parse_u32(arg)) {
          m.client_flags = *v;  // without F, ms stores flags 0
        } else {
          has_error = true;  // memcached keeps the message it had
        }
        break;
      case 'M':
        if (tok.size() != 2) {
          err = "CLIENT_ERROR incorrect length for M token";
          has_error = true;
        } else {
          m.mode = tok[1];
        }
        break;
      case 'J':
        if (auto v = parse_u64(arg)) {
          m.initial = *v;
        } else {
          err = "CLIENT_ERROR invalid numeric initial value";
          has_error = true;
        }
        break;
      case 'D':
        if (auto v = parse_u64(arg)) {
          m.delta = *v;
        } else {
          err = "CLIENT_ERROR invalid numeric delta value";
          has_error = true;
        }
        break;
      case 'O': m.opaque = tok; break;
      case 'v': m.value = true; break;
      case 'u': m.no_bump = true; break;
      case 'q': m.quiet = true; break;
      case 'I': m.invalidate = true; break;
      case 'x': m.remove_value = true; break;
      case 'P':
      case 'L':
      case 'k':
      case 's':
      case 't':
      case 'c':
      case 'f':
      case 'l':
      case 'h': break;
      default: err = "CLIENT_ERROR invalid flag"; return false;
    }
  }
  return !has_error;
}

ParseResult parse_meta(std::string_view in, std::size_t line_len, const Tokens& t, Command& cmd,
                       const ParserLimits& limits) {
  const std::size_t ntokens = t.ntokens();
  const char which = t.tok[0][1];
  cmd.meta = MetaFlags{};
  if (which == 'n') {
    cmd.type = CommandType::meta_noop;
    return make_complete(line_len);
  }
  if (which == 'e') {
    cmd.type = CommandType::meta_debug;
    if (ntokens < 3 || t.tok[1].size() > kMaxKeyLength)
      return make_error(kBadFormat, line_len, false);
    cmd.key = t.tok[1];
    if (ntokens >= 4 && t.tok[2] == "b") {
      if (!decode_key_base64(cmd.key, cmd.key_buffer)) {
        return make_error(kBadFormat, line_len, false);
      }
      cmd.key = cmd.key_buffer;
      cmd.meta.base64 = true;
    }
    return make_complete(line_len);
  }
  switch (which) {
    case 'g': cmd.type = CommandType::meta_get; break;
    case 's': cmd.type = CommandType::meta_set; break;
    case 'd': cmd.type = CommandType::meta_delete; break;
    case 'a': cmd.type = CommandType::meta_arithmetic; break;
    default: return make_error(kError, line_len, false);
  }
  if (ntokens < 3) return make_error(kError, line_len, false);
  if (t.tok[1].size() > kMaxKeyLength) return make_error(kBadFormat, line_len, false);
  cmd.key = t.tok[1];
  std::string_view err = kBadFormat;

  if (cmd.type == CommandType::meta_set) {
    if (ntokens == 3) return make_error(kBadFormat, line_len, false);
    if (ntokens > kMaxMetaTokens) {
      return make_error("CLIENT_ERROR options flags too long", line_len, false);
    }
    auto vlen = parse_i32(t.tok[2]);
    if (!vlen || *vlen < 0 || *vlen > INT32_MAX - 2) return make_error(kBadFormat, line_len, false);
    cmd.data_len = static_cast<std::uint32_t>(*vlen);
    const std::size_t block = cmd.data_len + std::size_t{2};
    // From here on an error also skips the data block.
    if (!preparse_meta(t, 3, cmd, err)) return error_swallow(err, line_len, block);
    cmd.noreply = cmd.meta.quiet;
    switch (cmd.meta.mode) {
      case 0:
      case 'E':
      case 'A':
      case 'P':
      case 'R':
      case 'S': break;
      default: return error_swallow("CLIENT_ERROR invalid mode for ms M token", line_len, block);
    }
    if (cmd.meta.opaque.size() > kMaxOpaque) {
      return error_swallow("CLIENT_ERROR opaque token too long", line_len, block);
    }
    return read_block(in, line_len, cmd, limits, false);  // meta errors always show
  }

  if (ntokens > kMaxMetaTokens) {
    return make_error(cmd.type == CommandType::meta_get ? "CLIENT_ERROR options flags are too long"
                                                        : "CLIENT_ERROR options flags too long",
                      line_len, false);
  }
  if (!preparse_meta(t, 2, cmd, err)) {
    if (cmd.type != CommandType::meta_get) err = "CLIENT_ERROR invalid or duplicate flag";
    return make_error(err, line_len, false);
  }
  cmd.noreply = cmd.meta.quiet;
  if (cmd.type == CommandType::meta_arithmetic) {
    switch (cmd.meta.mode) {
      case 0:
      case 'I':
      case '+':
      case 'D':
      case '-': break;
      default: return make_error("CLIENT_ERROR invalid mode for ma M token", line_len, false);
    }
  }
  if (cmd.meta.opaque.size() > kMaxOpaque) {
    return make_error("CLIENT_ERROR opaque token too long", line_len, false);
  }
  return make_complete(line_len);
}

}  // namespace

ParseResult parse_text(std::string_view in, Command& cmd, const ParserLimits& limits) {
  const char* nl = static_cast<const char*>(std::memchr(in.data(), '\n', in.size()));
  if (nl == nullptr) {
    // memcached's rule: more than kMaxCommandLine bytes without a line end
    // closes the connection, unless it is a (large) multi-get.
    if (in.size() > kMaxCommandLine && (!is_get_like(in) || in.size() > limits.max_get_line)) {
      ParseResult r;
      r.status = ParseStatus::close;
      return r;
    }
    return ParseResult{};
  }
  const std::size_t line_len = static_cast<std::size_t>(nl - in.data()) + 1;
  std::string_view line = in.substr(0, line_len - 1);
  if (line.size() > 1 && line.back() == '\r') line.remove_suffix(1);
  // memcached treats the line as a C string: it ends at the first NUL.
  if (auto z = line.find('\0'); z != std::string_view::npos) line = line.substr(0, z);

  cmd.noreply = false;
  cmd.too_large = false;
  cmd.has_delay = false;
  cmd.delay = 0;
  cmd.level = 0;
  cmd.flags = 0;
  cmd.exptime = 0;
  cmd.cas_unique = 0;
  cmd.delta = 0;
  cmd.key = {};
  cmd.data = {};
  cmd.data_len = 0;
  cmd.args.clear();
  cmd.key_list = {};

  Tokens t;
  tokenize(line, t);
  const std::size_t ntokens = t.ntokens();
  if (t.n == 0 || t.tok[0].size() < 2) return make_error(kError, line_len, false);
  const std::string_view name = t.tok[0];
  auto error = [&] { return make_error(kError, line_len, false); };
  // A name memcached does not dispatch by its first letter and does not
  // know: an HTTP request line (last token "HTTP/...") closes the
  // connection before anything after it is read, so a web page's
  // cross-protocol POST never gets its body executed. memcached answers
  // watch, extstore and refresh_certs itself, so those never close.
  auto unknown = [&] {
    if (t.tok[t.n - 1].starts_with("HTTP/") && name != "watch" && name != "extstore" &&
        name != "refresh_certs") {
      ParseResult r;
      r.status = ParseStatus::close;
      r.consumed = line_len;
      return r;
    }
    return error();
  };

  switch (name[0]) {
    case 'g':
      if (ntokens < 3) return error();
      if (name == "get") return parse_get(line, t, CommandType::get, false, cmd, line_len);
      if (name == "gets") return parse_get(line, t, CommandType::gets, false, cmd, line_len);
      if (name == "gat") return parse_get(line, t, CommandType::gat, true, cmd, line_len);
      if (name == "gats") return parse_get(line, t, CommandType::gats, true, cmd, line_len);
      return error();
    case 'b':
      if (name == "bget") {
        if (ntokens < 3) return error();
        return parse_get(line, t, CommandType::get, false, cmd, line_len);
      }
      return unknown();
    case 's':
      if (name == "set") {
        if (!want(ntokens, 6, 7)) return error();
        return parse_storage(in, line_len, t, CommandType::set, cmd, limits);
      }
      if (name == "stats") {
        cmd.type = CommandType::stats;
        for (std::size_t i = 1; i < t.n; ++i) cmd.args.push_back(t.tok[i]);
        return make_complete(line_len);
      }
      if (name == "shutdown") {  // whether it is enabled (-A) is the server's to say
        cmd.type = CommandType::shutdown;
        for (std::size_t i = 1; i < t.n; ++i) cmd.args.push_back(t.tok[i]);
        return make_complete(line_len);
      }
      if (name == "slabs") return parse_admin(t, CommandType::slabs, cmd, line_len);
      return error();
    case 'a':
      if (name == "add" || name == "append") {
        if (!want(ntokens, 6, 7)) return error();
        return parse_storage(in, line_len, t,
                             name == "add" ? CommandType::add : CommandType::append, cmd, limits);
      }
      return error();
    case 'r':
    case 'p':
      if (name == "refresh_certs") {  // memcached ignores its arguments
        cmd.type = CommandType::refresh_certs;
        return make_complete(line_len);
      }
      if (name == "replace" || name == "prepend") {
        if (!want(ntokens, 6, 7)) return error();
        return parse_storage(in, line_len, t,
                             name == "replace" ? CommandType::replace : CommandType::prepend, cmd,
                             limits);
      }
      return unknown();
    case 'c':
      if (name == "cas") {
        if (!want(ntokens, 7, 8)) return error();
        return parse_storage(in, line_len, t, CommandType::cas, cmd, limits);
      }
      if (name == "cache_memlimit") {
        if (!want(ntokens, 3, 4)) return error();
        return parse_admin(t, CommandType::cache_memlimit, cmd, line_len);
      }
      return error();
    case 'i':
    case 'd':
      if (name == "incr" || name == "decr") {
        if (!want(ntokens, 4, 5)) return error();
        cmd.type = name == "incr" ? CommandType::incr : CommandType::decr;
        cmd.noreply = noreply_at_end(t);
        if (t.tok[1].size() > kMaxKeyLength) return make_error(kBadFormat, line_len, cmd.noreply);
        cmd.key = t.tok[1];
        auto d = parse_u64(t.tok[2]);
        if (!d) return make_error(kBadDelta, line_len, cmd.noreply);
        cmd.delta = *d;
        return make_complete(line_len);
      }
      if (name == "delete") {
        if (ntokens < 3 || ntokens > 5) return error();
        cmd.type = CommandType::del;
        if (ntokens > 3) {
          const bool hold_is_zero = t.tok[2] == "0";
          cmd.noreply = noreply_at_end(t);
          const bool valid = (ntokens == 4 && (hold_is_zero || cmd.noreply)) ||
                             (ntokens == 5 && hold_is_zero && cmd.noreply);
          if (!valid) return make_error(kDeleteUsage, line_len, cmd.noreply);
        }
        if (t.tok[1].size() > kMaxKeyLength) return make_error(kBadFormat, line_len, cmd.noreply);
        cmd.key = t.tok[1];
        return make_complete(line_len);
      }
      return error();
    case 't':
      if (name == "touch") {
        if (!want(ntokens, 4, 5)) return error();
        cmd.type = CommandType::touch;
        cmd.noreply = noreply_at_end(t);
        if (t.tok[1].size() > kMaxKeyLength) return make_error(kBadFormat, line_len, cmd.noreply);
        cmd.key = t.tok[1];
        auto e = parse_i32(t.tok[2]);
        if (!e) return make_error(kBadExptime, line_len, cmd.noreply);
        cmd.exptime = *e;
        return make_complete(line_len);
      }
      return error();
    case 'f':
      if (name == "flush_all") {
        if (ntokens < 2 || ntokens > 4) return error();
        cmd.type = CommandType::flush_all;
        cmd.noreply = noreply_at_end(t);
        if (ntokens != (cmd.noreply ? 3u : 2u)) {
          auto e = parse_i32(t.tok[1]);
          if (!e) return make_error(kBadExptime, line_len, cmd.noreply);
          cmd.delay = *e;
          cmd.has_delay = true;
        }
        return make_complete(line_len);
      }
      return unknown();
    case 'v':
      if (name == "version") {
        cmd.type = CommandType::version;
        return make_complete(line_len);
      }
      if (name == "verbosity") {
        if (!want(ntokens, 3, 4)) return error();
        cmd.type = CommandType::verbosity;
        cmd.noreply = noreply_at_end(t);
        auto v = parse_u32(t.tok[1]);
        if (!v) return make_error(kBadFormat, line_len, cmd.noreply);
        cmd.level = *v;
        return make_complete(line_len);
      }
      return unknown();
    case 'l':
      if (name == "lru_crawler") return parse_admin(t, CommandType::lru_crawler, cmd, line_len);
      if (name == "lru") return parse_admin(t, CommandType::lru, cmd, line_len);
      return unknown();
    case 'w':
      if (name == "watch") {  // the stream names are the server's to check
        cmd.type = CommandType::watch;
        for (std::size_t i = 1; i < t.n; ++i) cmd.args.push_back(t.tok[i]);
        cmd.noreply = noreply_at_end(t);
        return make_complete(line_len);
      }
      return unknown();
    case 'q':
      if (name == "quit") {
        cmd.type = CommandType::quit;
        return make_complete(line_len);
      }
      return unknown();
    case 'm':
      if (name.size() == 2) return parse_meta(in, line_len, t, cmd, limits);
      return unknown();
    default: return unknown();
  }
}

}  // namespace memcoro::protocol
