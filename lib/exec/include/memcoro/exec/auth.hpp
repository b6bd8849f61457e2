#pragma once
// Authentication: who may use a server started with -S (binary SASL PLAIN)
// or -Y (the ASCII login), checked against one credential table that both
// gates share, read from one file format and replaced whole on reload.
//
// The file (memcached's -Y auth file and its SASL "pwdb" alike): one entry
// per line, `user:password`, the user up to the first ':'; "\r\n" line ends
// are fine. A line without ':' (an empty line too) makes the whole file
// malformed, as in memcached. In an auth file the password is the rest of
// the line (it may hold ':'); in a pwdb it ends at the next ':' (memcached's
// pwdb lines may carry more fields).
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "memcoro/exec/connection.hpp"

namespace memcoro::exec {

class AuthTable {
 public:
  enum class Format : std::uint8_t { auth_file, pwdb };
  struct Entry {
    std::string user;
    std::string password;
  };
  // nullptr when a line is malformed.
  static std::shared_ptr<const AuthTable> parse(std::string_view text, Format format);
  // Reads and parses `path`; on failure nullptr and `error` in memcached's
  // words ("Authfile [F] has a malformed entry. Should be 'user:password'").
  static std::shared_ptr<const AuthTable> load(const std::string& path, Format format,
                                               std::string& error);

  // Compares with every entry, in time that depends on the table's and the
  // given lengths only: not on where, or whether, a byte differs.
  bool check(std::string_view user, std::string_view password) const;
  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

// The server's authentication: which gates are on (fixed at start), how
// connections are read (memcached's -B, which -S and -Y decide unless it
// is given), and each gate's credential table in force (read by any
// thread; replaced whole by a reload, so that no connection ever checks
// against half a file).
class Auth {
 public:
  enum class Gate : std::uint8_t { sasl, ascii };
  // A null table: that gate is off.
  Auth(Binding binding, std::shared_ptr<const AuthTable> sasl,
       std::shared_ptr<const AuthTable> ascii)
      : binding_(binding),
        sasl_on_(sasl != nullptr),
        ascii_on_(ascii != nullptr),
        sasl_(std::move(sasl)),
        ascii_(std::move(ascii)) {}
  Binding binding() const { return binding_; }
  bool sasl() const { return sasl_on_; }
  bool ascii() const { return ascii_on_; }
  bool check(Gate gate, std::string_view user, std::string_view password) const {
    std::shared_ptr<const AuthTable> t;
    {
      std::lock_guard lock(mu_);
      t = gate == Gate::sasl ? sasl_ : ascii_;
    }
    return t != nullptr && t->check(user, password);  // outside the lock
  }
  void replace(Gate gate, std::shared_ptr<const AuthTable> table) {
    std::lock_guard lock(mu_);
    (gate == Gate::sasl ? sasl_ : ascii_) = std::move(table);
  }

 private:
  const Binding binding_;
  const bool sasl_on_;
  const bool ascii_on_;
  // A mutex, not std::atomic<std::shared_ptr>: logins are rare, and
  // libstdc++ 12's atomic shared_ptr hides its lock in the pointer's low
  // bit, where ThreadSanitizer cannot see it.
  mutable std::mutex mu_;
  std::shared_ptr<const AuthTable> sasl_;
  std::shared_ptr<const AuthTable> ascii_;
};

// SASL PLAIN (RFC 4616): "[authzid] NUL user NUL password". False when the
// message is not of that shape, or names an authzid other than the user
// (memcoro, like Cyrus without proxy rules, lets no one act as another).
bool parse_plain(std::string_view message, std::string_view& user, std::string_view& password);

}  // namespace memcoro::exec
