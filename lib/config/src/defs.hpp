#pragma once
// The declaration of every setting (settings.cpp: the rows) and the one
// parser, display and JSON value of each kind of setting (kinds.cpp), as the
// parts that read settings (settings.cpp, load.cpp) see them. Internal to
// memcoro_config.
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "memcoro/config/settings.hpp"

namespace memcoro::config {

using nlohmann::json;

// What a setting holds, and so how it is read from text and JSON and shown.
// A flag's text and a JSON value go through the same parser: JSON is turned
// into the text a flag would give (a number into its digits, true into
// "true"), so both give the same value and the same error.
enum class Kind : std::uint8_t {
  count,      // an unsigned integer from lo to hi; its flag without an argument adds one
  size,       // bytes, or with a k/m/g suffix, from lo to hi bytes
  megabytes,  // as size, but a plain number is megabytes (memcached's -m)
  number,     // a decimal number above lo, at most hi
  toggle,     // true or false; its flag (no argument) turns it off, or on with flag_on
  text,       // a string; not empty when lo is 1
  character,  // one character
  hosts,      // host names or addresses: comma-separated (flag), an array (JSON)
  octal,      // an unsigned integer in octal digits (a file mode), from lo to hi
};

using Field =
    std::variant<std::uint16_t Settings::*, std::uint32_t Settings::*, std::uint64_t Settings::*,
                 double Settings::*, bool Settings::*, std::string Settings::*, char Settings::*,
                 std::vector<std::string> Settings::*>;

struct Def {
  std::string_view name = {};  // JSON field
  Kind kind = Kind::count;
  Field field = {};
  std::uint64_t lo = 0;  // the range, for the kinds that have one
  std::uint64_t hi = 0;
  char short_flag = 0;  // 0: none
  std::string_view long_flag = {};
  std::string_view arg = {};  // "" : the flag takes no argument
  // What it does; --help adds the default, from Settings{}.
  std::string_view help = {};
  std::string_view stats_name = {};  // "" : not in `stats settings`
  bool live = false;                 // may change while running
  // A repeated flag adds to the comma-separated list instead of replacing
  // it (memcached's -l).
  bool repeats = false;
  // A toggle's words in `stats settings` (memcached's: yes/no, or on/off).
  std::array<std::string_view, 2> words = {"yes", "no"};
  bool flag_on = false;  // a toggle whose flag turns it on (-S)
};

// Every setting, in the order --help and GET /config list them.
const std::vector<Def>& defs();
const Def* find_def(std::string_view name);

// Sets `def` in `s` from text (a flag's argument, an environment variable):
// "" or the error.
std::string set_from_text(const Def& def, Settings& s, std::string_view text);
// From a flag: its argument, or for a flag without one, what the flag does.
std::string set_from_flag(const Def& def, Settings& s, const char* arg);
// From a JSON value, through the same parser as the text.
std::string set_from_json(const Def& def, Settings& s, const json& j);
// As `stats settings` shows it.
std::string show(const Def& def, const Settings& s);
// As GET /config shows it (and as changes are detected).
json value(const Def& def, const Settings& s);
// The default as --help gives it ("" for none worth saying).
std::string default_text(const Def& def);

}  // namespace memcoro::config
