// One parser, display and JSON value per kind of setting (defs.hpp: Kind).
#include <algorithm>
#include <charconv>
#include <cstdio>

#include "defs.hpp"
#include "host_list.hpp"

namespace memcoro::config {
namespace {

bool parse_uint(std::string_view t, std::uint64_t& out, std::uint64_t lo, std::uint64_t hi) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc{} || p != t.data() + t.size() || v < lo || v > hi) return false;
  out = v;
  return true;
}

template <class T>
T& member(const Def& d, Settings& s) {
  return s.*std::get<T Settings::*>(d.field);
}
template <class T>
const T& member(const Def& d, const Settings& s) {
  return s.*std::get<T Settings::*>(d.field);
}

std::uint64_t get_uint(const Def& d, const Settings& s) {
  if (auto m = std::get_if<std::uint16_t Settings::*>(&d.field)) return s.**m;
  if (auto m = std::get_if<std::uint32_t Settings::*>(&d.field)) return s.**m;
  return member<std::uint64_t>(d, s);
}

// Within the field's type: the rows' ranges say so.
void set_uint(const Def& d, Settings& s, std::uint64_t v) {
  if (auto m = std::get_if<std::uint16_t Settings::*>(&d.field)) {
    s.** m = static_cast<std::uint16_t>(v);
  } else if (auto m32 = std::get_if<std::uint32_t Settings::*>(&d.field)) {
    s.** m32 = static_cast<std::uint32_t>(v);
  } else {
    member<std::uint64_t>(d, s) = v;
  }
}

// The error for a value `def` does not take, whichever way it came.
std::string octal(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%llo", static_cast<unsigned long long>(v));
  return b;
}

std::string expected(const Def& d) {
  const std::string name(d.name);
  const std::string lo = std::to_string(d.lo), hi = std::to_string(d.hi);
  switch (d.kind) {
    case Kind::count: return name + ": expected an integer from " + lo + " to " + hi;
    case Kind::size:
    case Kind::megabytes:
      return name + ": expected a size (bytes, or with a k/m/g suffix) from " + lo + " to " + hi +
             " bytes";
    case Kind::number: return name + ": expected a number above " + lo + ", at most " + hi;
    case Kind::toggle: return name + ": expected true or false";
    case Kind::text:
      return name + (d.lo > 0 ? ": expected a non-empty string" : ": expected a string");
    case Kind::character: return name + ": expected one character";
    case Kind::hosts: return name + ": expected an array of strings";
    case Kind::octal: return name + ": expected octal digits, at most " + octal(d.hi);
  }
  return name + ": invalid value";
}

// "1m" rather than "1048576": a size as a person would write it.
std::string human_size(std::uint64_t v) {
  for (auto [shift, suffix] : {std::pair{30, 'g'}, std::pair{20, 'm'}, std::pair{10, 'k'}}) {
    if (v != 0 && v % (std::uint64_t{1} << shift) == 0) return std::to_string(v >> shift) + suffix;
  }
  return std::to_string(v);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& h : items) out += (out.empty() ? "" : ",") + h;
  return out;
}

}  // namespace

bool parse_size(std::string_view t, std::uint64_t& out) {
  if (t.empty()) return false;
  std::uint64_t mult = 1;
  switch (t.back()) {
    case 'k':
    case 'K': mult = 1ull << 10; break;
    case 'm':
    case 'M': mult = 1ull << 20; break;
    case 'g':
    case 'G': mult = 1ull << 30; break;
    default: break;
  }
  if (mult != 1) t.remove_suffix(1);
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc{} || p != t.data() + t.size()) return false;
  if (v > (std::uint64_t{1} << 50) / mult) return false;
  out = v * mult;
  return true;
}

std::string set_from_text(const Def& d, Settings& s, std::string_view t) {
  switch (d.kind) {
    case Kind::count: {
      std::uint64_t v = 0;
      if (!parse_uint(t, v, d.lo, d.hi)) return expected(d);
      set_uint(d, s, v);
      return {};
    }
    case Kind::size:
    case Kind::megabytes: {
      std::uint64_t v = 0;
      // memcached reads -m with atoi, in megabytes; bounded so that << 20
      // cannot wrap to a small limit nobody asked for.
      const bool plain = !t.empty() && t.find_first_not_of("0123456789") == t.npos;
      if (d.kind == Kind::megabytes && plain) {
        if (!parse_uint(t, v, (d.lo + (1 << 20) - 1) >> 20, d.hi >> 20)) return expected(d);
        v <<= 20;
      } else if (!parse_size(t, v)) {
        return expected(d);
      }
      if (v < d.lo || v > d.hi) return expected(d);
      set_uint(d, s, v);
      return {};
    }
    case Kind::number: {
      double v = 0;
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (t.empty() || ec != std::errc{} || p != t.data() + t.size() ||
          !(v > static_cast<double>(d.lo)) || v > static_cast<double>(d.hi)) {
        return expected(d);
      }
      member<double>(d, s) = v;
      return {};
    }
    case Kind::toggle:
      if (t != "true" && t != "false") return expected(d);
      member<bool>(d, s) = t == "true";
      return {};
    case Kind::text:
      if (t.empty() && d.lo > 0) return expected(d);
      member<std::string>(d, s) = std::string(t);
      return {};
    case Kind::character:
      if (t.size() != 1) return expected(d);
      member<char>(d, s) = t[0];
      return {};
    case Kind::hosts:
      return parse_host_list(split_commas(t), member<std::vector<std::string>>(d, s));
    case Kind::octal: {
      std::uint64_t v = 0;
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v, 8);
      if (t.empty() || ec != std::errc{} || p != t.data() + t.size() || v < d.lo || v > d.hi)
        return expected(d);
      set_uint(d, s, v);
      return {};
    }
  }
  return expected(d);
}

std::string set_from_flag(const Def& d, Settings& s, const char* arg) {
  if (!d.arg.empty()) return set_from_text(d, s, arg == nullptr ? "" : arg);
  if (d.kind == Kind::count) {
    return set_from_text(d, s, std::to_string(std::min(get_uint(d, s) + 1, d.hi)));  // -vv
  }
  return set_from_text(d, s, d.flag_on ? "true" : "false");  // a toggle's flag: -S on, -M off
}

std::string set_from_json(const Def& d, Settings& s, const json& j) {
  const bool sized = d.kind == Kind::size || d.kind == Kind::megabytes;
  switch (d.kind) {
    case Kind::count:
    case Kind::size:
    case Kind::megabytes:
      if (j.is_number_unsigned())
        return set_from_text(d, s, std::to_string(j.get<std::uint64_t>()));
      if (sized && j.is_string()) return set_from_text(d, s, j.get<std::string>());
      return expected(d);
    case Kind::number:
      if (!j.is_number()) return expected(d);
      return set_from_text(d, s, j.dump());
    case Kind::toggle:
      if (!j.is_boolean()) return expected(d);
      return set_from_text(d, s, j.get<bool>() ? "true" : "false");
    case Kind::text:
    case Kind::character:
    case Kind::octal:  // "0700": a JSON number would read as decimal
      if (!j.is_string()) return expected(d);
      return set_from_text(d, s, j.get<std::string>());
    case Kind::hosts: {
      // Checked item by item as the flag's list is (not joined with
      // commas: an item with a comma or spaces is an error).
      if (!j.is_array()) return expected(d);
      std::vector<std::string> items;
      for (const json& e : j) {
        if (!e.is_string()) return expected(d);
        items.push_back(e.get<std::string>());
      }
      return parse_host_list(items, member<std::vector<std::string>>(d, s));
    }
  }
  return expected(d);
}

std::string show(const Def& d, const Settings& s) {
  switch (d.kind) {
    case Kind::count:
    case Kind::size:
    case Kind::megabytes: return std::to_string(get_uint(d, s));
    case Kind::number: {
      char b[32];
      std::snprintf(b, sizeof b, "%.2f", member<double>(d, s));
      return b;
    }
    case Kind::toggle: return std::string(member<bool>(d, s) ? d.words[0] : d.words[1]);
    case Kind::text: return member<std::string>(d, s);
    case Kind::character: return std::string(1, member<char>(d, s));
    case Kind::hosts: return join(member<std::vector<std::string>>(d, s));
    case Kind::octal: return octal(get_uint(d, s));  // memcached's `umask 700`
  }
  return {};
}

json value(const Def& d, const Settings& s) {
  switch (d.kind) {
    case Kind::count:
    case Kind::size:
    case Kind::megabytes: return get_uint(d, s);
    case Kind::number: return member<double>(d, s);
    case Kind::toggle: return member<bool>(d, s);
    case Kind::text:
    case Kind::character: return show(d, s);
    case Kind::octal: return "0" + show(d, s);
    case Kind::hosts: return member<std::vector<std::string>>(d, s);
  }
  return nullptr;
}

std::string default_text(const Def& d) {
  static const Settings kDefaults;
  switch (d.kind) {
    case Kind::count: return d.arg.empty() ? "" : show(d, kDefaults);  // -v counts up from 0
    case Kind::size: return human_size(get_uint(d, kDefaults));
    case Kind::megabytes: {
      const std::uint64_t v = get_uint(d, kDefaults);
      return v % (1u << 20) == 0 ? std::to_string(v >> 20) : human_size(v);
    }
    case Kind::toggle: return "";  // the flag says which way it turns
    case Kind::number:
    case Kind::text:
    case Kind::character:
    case Kind::hosts: return show(d, kDefaults);
    case Kind::octal: return value(d, kDefaults).get<std::string>();
  }
  return {};
}

}  // namespace memcoro::config
