#pragma once
// Base64 keys of the meta protocol (flag b), read and written as memcached
// 1.6.18 does, so that the same bytes are accepted, refused and answered.
#include <string>
#include <string_view>

namespace memcoro::protocol {

// Decodes a key the way memcached's base64_decode() accepts it: bytes outside
// the alphabet (and '=') are skipped; the rest must be a non-zero multiple
// of four; '=' anywhere in a group of four counts as padding (one or two per
// group, dropping as many bytes from its end) and ends the key. False (and
// `out` unspecified) for what memcached refuses with "error decoding key".
bool decode_key_base64(std::string_view in, std::string& out);
// (Encoding is standard base64 with '=' padding: absl::Base64Escape.)

}  // namespace memcoro::protocol
