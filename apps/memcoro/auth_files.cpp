#include "auth_files.hpp"

namespace memcoro {

bool AuthFiles::load(const config::Settings& s, std::string& error) {
  sasl_path_ = s.sasl ? s.sasl_pwdb : std::string();
  ascii_path_ = s.auth_file;
  Tables tables;
  if (!read(tables, error)) return false;
  const std::string_view b = config::binding_protocol(s);
  const exec::Binding binding = b == "ascii"    ? exec::Binding::ascii
                                : b == "binary" ? exec::Binding::binary
                                                : exec::Binding::auto_detect;
  auth_ = std::make_unique<exec::Auth>(binding, std::move(tables.sasl), std::move(tables.ascii));
  return true;
}

bool AuthFiles::read(Tables& out, std::string& error) const {
  using Format = exec::AuthTable::Format;
  if (!sasl_path_.empty()) {
    out.sasl = exec::AuthTable::load(sasl_path_, Format::pwdb, error);
    if (out.sasl == nullptr) return false;
  }
  if (!ascii_path_.empty()) {
    out.ascii = exec::AuthTable::load(ascii_path_, Format::auth_file, error);
    if (out.ascii == nullptr) return false;
  }
  return true;
}

void AuthFiles::commit(Tables tables) {
  if (tables.sasl != nullptr) auth_->replace(exec::Auth::Gate::sasl, std::move(tables.sasl));
  if (tables.ascii != nullptr) auth_->replace(exec::Auth::Gate::ascii, std::move(tables.ascii));
}

}  // namespace memcoro
