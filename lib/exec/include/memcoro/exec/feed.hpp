#pragma once
// Drives a Connection from bytes already in memory (a UDP datagram, a
// console command): the transport loop of connection.hpp without a socket.
#include <functional>
#include <string_view>

#include "memcoro/exec/connection.hpp"

namespace memcoro::exec {

// How feeding ended. taken: every byte was taken and the connection waits
// for more; cut: the input ended inside a large value being received in
// place (the value is dropped, never stored with bytes that did not
// arrive); closed: the connection closed (`quit`, an error memcached closes
// on); watching: it became a `watch` connection; stopped: `write` said stop.
enum class Fed : unsigned char { taken, cut, closed, watching, stopped };

// Feeds all of `in`, handing each batch of replies to `write` (then
// cleared); `write` returns false to stop (its reader has enough).
Fed feed(Connection& conn, std::string_view in, const std::function<bool(const Output&)>& write);

}  // namespace memcoro::exec
