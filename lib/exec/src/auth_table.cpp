// The credential table of -S and -Y: the file's one parser, and the
// constant-time check.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "memcoro/exec/auth.hpp"

namespace memcoro::exec {
namespace {

// Every byte of the longer of the two compared, whatever differs: time
// tells only the lengths.
bool same(std::string_view given, const std::string& stored) {
  const std::size_t n = std::max(given.size(), stored.size());
  unsigned diff = given.size() == stored.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    const auto a = static_cast<unsigned char>(i < given.size() ? given[i] : 0);
    const auto b = static_cast<unsigned char>(i < stored.size() ? stored[i] : 0);
    diff |= a ^ b;
  }
  return diff == 0;
}

}  // namespace

std::shared_ptr<const AuthTable> AuthTable::parse(std::string_view text, Format format) {
  auto table = std::make_shared<AuthTable>();
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    const std::size_t colon = line.find(':');
    // memcached: no ':' before the line (or a NUL) ends is a malformed entry.
    if (colon == std::string_view::npos || line.substr(0, colon).find('\0') != line.npos) {
      return nullptr;
    }
    // The password ends at the line's end (a CR, or a NUL, as memcached
    // reads it), and in a pwdb at the next field.
    std::string_view password = line.substr(colon + 1);
    std::size_t end = 0;
    while (end < password.size() && password[end] != '\r' && password[end] != '\0' &&
           !(format == Format::pwdb && password[end] == ':')) {
      ++end;
    }
    password = password.substr(0, end);
    table->entries_.push_back({std::string(line.substr(0, colon)), std::string(password)});
  }
  return table;
}

std::shared_ptr<const AuthTable> AuthTable::load(const std::string& path, Format format,
                                                 std::string& error) {
  const std::string what = format == Format::pwdb ? "SASL password file" : "Authfile";
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    error = "Could not open " + (format == Format::pwdb ? what : "authfile") + " [" + path +
            "] for reading, error " + std::strerror(errno);
    return nullptr;
  }
  std::ostringstream text;
  text << f.rdbuf();
  auto table = parse(text.str(), format);
  if (table == nullptr) {
    error = what + " [" + path + "] has a malformed entry. Should be 'user:password'";
  }
  return table;
}

bool AuthTable::check(std::string_view user, std::string_view password) const {
  bool found = false;
  for (const Entry& e : entries_) {
    // Both compared, always: no early way out for a right user name.
    const bool u = same(user, e.user);
    const bool p = same(password, e.password);
    found |= u & p;
  }
  return found;
}

bool parse_plain(std::string_view message, std::string_view& user, std::string_view& password) {
  const std::size_t first = message.find('\0');
  if (first == std::string_view::npos) return false;
  const std::size_t second = message.find('\0', first + 1);
  if (second == std::string_view::npos) return false;
  const std::string_view authzid = message.substr(0, first);
  user = message.substr(first + 1, second - first - 1);
  password = message.substr(second + 1);
  return !user.empty() && (authzid.empty() || authzid == user);
}

}  // namespace memcoro::exec
