#pragma once
// The login of memcached's ASCII authentication (-Y), before a connection
// has logged in (memcached's try_read_command_asciiauth). Every line is
// either the login
//
//   set <key> <flags> <exptime> <bytes>\r\n<user> <password>\r\n
//
// (key, flags and exptime ignored; <bytes> counts the token block without
// its "\r\n") or refused with "CLIENT_ERROR unauthenticated", whatever it
// says (version, quit, meta commands, an empty line alike). Same contract as
// parse_text(): complete (cmd.type == ascii_login, cmd.key = user, cmd.data =
// password, to be checked by exec), need_more, error (the reply, then go
// on), close (more than 2048 bytes without a '\n', as memcached 1.6.18).
#include <string_view>

#include "memcoro/protocol/command.hpp"
#include "memcoro/protocol/text_parser.hpp"

namespace memcoro::protocol {

// memcoro waits for no token block longer than this: a longer one is
// answered "CLIENT_ERROR bad authentication token format" at once and its
// bytes skipped (memcached buffers any size, up to 4 GB).
inline constexpr std::size_t kMaxLoginBlock = 1024;

ParseResult parse_ascii_login(std::string_view in, Command& cmd);

}  // namespace memcoro::protocol
