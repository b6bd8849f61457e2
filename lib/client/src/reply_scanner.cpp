#include "memcoro/client/reply_scanner.hpp"

#include <algorithm>
#include <cstdlib>

#include "memcoro/client/meta.hpp"

namespace memcoro::client {

std::size_t scan_reply(std::string_view in, bool meta, unsigned keys, ReplyCount& count) {
  count = {};
  if (meta) {
    Response r;
    const ReadResult rr = read_response(in, r);
    if (rr.status == ReadStatus::need_more) return 0;
    if (rr.status == ReadStatus::error) {
      count.error = true;
    } else if (r.status == Status::value) {
      count.hits = 1;
    } else if (r.status == Status::miss) {
      count.misses = 1;
    }
    return rr.consumed;
  }
  std::size_t at = 0;
  unsigned values = 0;
  for (;;) {
    const std::size_t nl = in.find("\r\n", at);
    if (nl == std::string_view::npos) return 0;
    const std::string_view line = in.substr(at, nl - at);
    if (line.starts_with("VALUE ")) {
      // VALUE <key> <flags> <bytes> [<cas>]: the length is the fourth word.
      std::size_t word = 0, pos = 0;
      for (int i = 0; i < 3 && pos != std::string_view::npos; ++i) {
        pos = line.find(' ', pos);
        if (pos != std::string_view::npos) word = ++pos;
      }
      const std::size_t bytes = std::strtoull(line.data() + word, nullptr, 10);
      if (in.size() < nl + 2 + bytes + 2) return 0;
      at = nl + 2 + bytes + 2;
      ++values;
      continue;
    }
    if (line == "END") {
      // A multi-get answers only the keys it found.
      count.hits = values;
      count.misses = keys - std::min(keys, values);
      return nl + 2;
    }
    if (line == "STORED" || line == "NOT_STORED" || line == "EXISTS" || line == "NOT_FOUND") {
      return nl + 2;
    }
    count.error = true;
    return nl + 2;
  }
}

}  // namespace memcoro::client
