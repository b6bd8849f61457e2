#include "memcoro/client/meta.hpp"

#include <absl/strings/escaping.h>

#include <charconv>
#include <cstring>
#include <ostream>

namespace memcoro::client {

Request& Request::raw(std::string_view token) {
  if (flags_len_ + token.size() + 1 <= flags_.size()) {
    flags_[flags_len_++] = ' ';
    std::memcpy(flags_.data() + flags_len_, token.data(), token.size());
    flags_len_ += token.size();
  }
  return *this;
}

Request& Request::number(char f, std::int64_t v) {
  char buf[24];
  buf[0] = f;
  char* end = std::to_chars(buf + 1, buf + sizeof buf, v).ptr;
  return raw(std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

Request& Request::unumber(char f, std::uint64_t v) {
  char buf[24];
  buf[0] = f;
  char* end = std::to_chars(buf + 1, buf + sizeof buf, v).ptr;
  return raw(std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

void write_request(const Request& req, std::string& out) {
  std::string encoded;
  std::string_view key = req.key();
  if (req.base64()) {
    encoded = absl::Base64Escape(absl::string_view(key.data(), key.size()));
    key = encoded;
  }
  const bool set = req.command() == Command::set;
  const bool noop = req.command() == Command::noop;
  char len_buf[24];
  const std::size_t len_len =
      set ? static_cast<std::size_t>(
                std::to_chars(len_buf, len_buf + sizeof len_buf, req.value().size()).ptr - len_buf)
          : 0;
  const std::string_view flags = req.flags();
  // One resize and straight copies: this is the client's hot path.
  const std::size_t need = 2 + (noop ? 0 : 1 + key.size()) + (set ? 1 + len_len : 0) +
                           flags.size() + 2 + (set ? req.value().size() + 2 : 0);
  const std::size_t at = out.size();
  out.resize(at + need);
  char* p = out.data() + at;
  auto put = [&p](const char* data, std::size_t n) {
    std::memcpy(p, data, n);
    p += n;
  };
  *p++ = 'm';
  *p++ = static_cast<char>(req.command());
  if (!noop) {
    *p++ = ' ';
    put(key.data(), key.size());
  }
  if (set) {
    *p++ = ' ';
    put(len_buf, len_len);
  }
  put(flags.data(), flags.size());
  put("\r\n", 2);
  if (set) {
    put(req.value().data(), req.value().size());
    put("\r\n", 2);
  }
}

void write_request(const Request& req, std::ostream& out) {
  std::string buf;
  write_request(req, buf);
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
}

std::optional<std::string_view> Response::token(char f) const {
  std::string_view rest = line;
  while (!rest.empty()) {
    const std::size_t sp = rest.find(' ');
    const std::string_view tok = rest.substr(0, sp);
    if (!tok.empty() && tok[0] == f) return tok.substr(1);
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> Response::number(char f) const {
  auto t = token(f);
  if (!t) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(t->data(), t->data() + t->size(), v);
  if (ec != std::errc{} || p != t->data() + t->size()) return std::nullopt;
  return v;
}

std::optional<std::int64_t> Response::ttl() const {
  auto t = token('t');
  if (!t) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(t->data(), t->data() + t->size(), v);
  if (ec != std::errc{} || p != t->data() + t->size()) return std::nullopt;
  return v;
}

namespace {

ReadResult failure(Error::Kind kind, std::string message, std::size_t consumed) {
  ReadResult r;
  r.status = ReadStatus::error;
  r.consumed = consumed;
  r.error = Error{kind, std::move(message)};
  return r;
}

struct Code {
  std::string_view text;
  Status status;
};
constexpr Code kCodes[] = {
    {"VA", Status::value},      {"HD", Status::ok},     {"EN", Status::miss},
    {"NS", Status::not_stored}, {"EX", Status::exists}, {"NF", Status::not_found},
    {"MN", Status::noop},       {"ME", Status::debug},
};

}  // namespace

ReadResult read_response(std::string_view in, Response& out) {
  const std::size_t nl = in.find('\n');
  if (nl == std::string_view::npos) return {};
  const std::size_t line_len = nl + 1;
  std::string_view line = in.substr(0, nl);
  if (line.empty() || line.back() != '\r') {
    return failure(Error::Kind::parse, "response line without \\r\\n", line_len);
  }
  line.remove_suffix(1);
  if (line.starts_with("CLIENT_ERROR")) {
    return failure(Error::Kind::client, std::string(line), line_len);
  }
  if (line.starts_with("SERVER_ERROR")) {
    return failure(Error::Kind::server, std::string(line), line_len);
  }
  if (line == "ERROR" || line.starts_with("ERROR ")) {
    return failure(Error::Kind::generic, std::string(line), line_len);
  }
  if (line.size() < 2 || (line.size() > 2 && line[2] != ' ')) {
    return failure(Error::Kind::parse, "unknown response: " + std::string(line.substr(0, 64)),
                   line_len);
  }
  const std::string_view code = line.substr(0, 2);
  const Code* found = nullptr;
  for (const Code& c : kCodes) {
    if (c.text == code) found = &c;
  }
  if (found == nullptr) {
    return failure(Error::Kind::parse, "unknown response: " + std::string(line.substr(0, 64)),
                   line_len);
  }
  std::string_view rest = line.size() > 3 ? line.substr(3) : std::string_view{};
  ReadResult r;
  r.status = ReadStatus::complete;
  r.consumed = line_len;
  if (found->status != Status::value) {
    out.status = found->status;
    out.value.clear();
    out.line.assign(rest.data(), rest.size());
    return r;
  }
  // VA <size> <flags>*\r\n<data>\r\n
  const std::size_t sp = rest.find(' ');
  const std::string_view size_text = rest.substr(0, sp);
  std::size_t size = 0;
  auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
  if (ec != std::errc{} || p != size_text.data() + size_text.size()) {
    return failure(Error::Kind::parse, "bad VA size", line_len);
  }
  if (in.size() < line_len + size + 2) return {};
  if (in[line_len + size] != '\r' || in[line_len + size + 1] != '\n') {
    return failure(Error::Kind::parse, "value without \\r\\n", line_len + size + 2);
  }
  out.status = Status::value;
  out.value.assign(in.data() + line_len, size);
  rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
  out.line.assign(rest.data(), rest.size());
  r.consumed = line_len + size + 2;
  return r;
}

ReadResult read_batch(std::string_view in, std::vector<Response>& out) {
  const std::size_t before = out.size();
  std::size_t at = 0;
  for (;;) {
    Response resp;
    ReadResult r = read_response(in.substr(at), resp);
    if (r.status == ReadStatus::need_more) {
      out.resize(before);
      return {};
    }
    at += r.consumed;
    if (r.status == ReadStatus::error) {
      // An error reply answers one request; the batch goes on unless the
      // stream is out of step.
      if (r.error->must_close()) {
        r.consumed = at;
        return r;
      }
      resp.status = Status::error;
      resp.line = r.error->message;
      out.push_back(std::move(resp));
      continue;
    }
    if (resp.status == Status::noop) {
      ReadResult done;
      done.status = ReadStatus::complete;
      done.consumed = at;
      return done;
    }
    out.push_back(std::move(resp));
  }
}

}  // namespace memcoro::client
