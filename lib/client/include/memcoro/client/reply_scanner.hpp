#pragma once
// Finds where one complete reply ends in the bytes a client received, and
// what it said, without building it: for load generators and proxies that
// only count. Text: a retrieval ends with END (each VALUE counts as a hit),
// a storage or delete reply is one line. Meta: one response (read_response).
#include <cstddef>
#include <string_view>

namespace memcoro::client {

struct ReplyCount {
  unsigned hits = 0;    // values returned
  unsigned misses = 0;  // keys asked for and not returned
  bool error = false;   // an error line, or a reply it does not know
};

// The bytes the first reply in `in` takes (0: it is not complete yet), and
// its counts. `keys`: how many keys the request asked for (text gets).
std::size_t scan_reply(std::string_view in, bool meta, unsigned keys, ReplyCount& count);

}  // namespace memcoro::client
