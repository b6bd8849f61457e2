#pragma once
// The credential files of -S (--sasl-pwdb / MEMCACHED_SASL_PWDB) and -Y
// (--auth-file): read at start into the server's exec::Auth, and read again
// on SIGHUP and the admin port's reload, where a file that no longer parses
// fails the reload and leaves the tables in force as they were.
#include <memory>
#include <string>

#include "memcoro/config/settings.hpp"
#include "memcoro/exec/auth.hpp"

namespace memcoro {

class AuthFiles {
 public:
  // Reads the files the settings name; false with memcached's message.
  bool load(const config::Settings& s, std::string& error);
  // The server's authentication (never null after load()).
  const exec::Auth* auth() const { return auth_.get(); }
  bool any() const { return !sasl_path_.empty() || !ascii_path_.empty(); }

  // A reload in two steps, so that it is all or nothing with the settings
  // file: read() parses every file (false with the error: nothing is
  // replaced), commit() puts what read() parsed in force. Any thread.
  struct Tables {
    std::shared_ptr<const exec::AuthTable> sasl;
    std::shared_ptr<const exec::AuthTable> ascii;
  };
  bool read(Tables& out, std::string& error) const;
  void commit(Tables tables);

 private:
  std::string sasl_path_;   // "" : no -S
  std::string ascii_path_;  // "" : no -Y
  std::unique_ptr<exec::Auth> auth_;
};

}  // namespace memcoro
