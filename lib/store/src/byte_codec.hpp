#pragma once
// Fixed-width little-endian fields in a byte string, for the warm restart's
// metadata: a writer that appends and a reader that never reads past the end
// (a short or damaged file reads as not ok, never as a crash).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace memcoro::store {

static_assert(std::endian::native == std::endian::little, "the metadata is little-endian");

class ByteWriter {
 public:
  template <class T>
  void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T v{};
    if (in_.size() - pos_ < sizeof v) {
      ok_ = false;
      pos_ = in_.size();
      return v;
    }
    std::memcpy(&v, in_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  // Whether `n` records of `size` bytes can still be read.
  bool has(std::uint64_t n, std::size_t size) const { return n <= (in_.size() - pos_) / size; }
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// FNV-1a, 64 bits: finds a damaged file (not an adversary's).
inline std::uint64_t checksum(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace memcoro::store
