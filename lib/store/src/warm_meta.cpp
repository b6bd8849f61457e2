// FILE.meta of a warm restart: magic, the memory settings, the store's
// snapshot, and a checksum of all of it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

#include "byte_codec.hpp"
#include "memcoro/store/warm_restart.hpp"
#include "store_internal.hpp"

namespace memcoro::store {
namespace {

constexpr std::string_view kMagic = "memcoro warm restart 1\n";

// What item memory's layout depends on: a start with any of them different
// cannot read the file's items.
std::vector<std::pair<std::string_view, std::uint64_t>> layout(const StoreConfig& c) {
  return {{"memory_limit", c.memory_limit},
          {"max_item_size", c.max_item_size},
          {"chunk_size", c.chunk_size},
          {"growth_factor", std::bit_cast<std::uint64_t>(c.growth_factor)},
          {"memory_reserve", c.reserve},
          {"item_header", sizeof(Item)},
          {"handle_bits", memory::kHandleBits}};
}

}  // namespace

std::string warm_meta_path(const std::string& memory_file) {
  return memory_file + ".meta";
}

std::string read_warm_meta(const StoreConfig& config, std::string& snapshot) {
  const std::string path = warm_meta_path(config.memory_file);
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    if (errno != ENOENT) return "cannot read " + path + ": " + std::strerror(errno);
    struct stat st {};
    if (::stat(config.memory_file.c_str(), &st) != 0 || st.st_size == 0) {
      return config.memory_file + " is new";
    }
    return "no metadata file " + path + " (the last stop was not graceful)";
  }
  const std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  constexpr std::size_t kSum = sizeof(std::uint64_t);
  if (data.size() < kMagic.size() + kSum || !data.starts_with(kMagic)) {
    return path + " is not memcoro warm restart metadata";
  }
  const std::string_view body(data.data(), data.size() - kSum);
  std::uint64_t sum;
  std::memcpy(&sum, data.data() + body.size(), kSum);
  if (checksum(body) != sum) return path + " is damaged (checksum mismatch)";
  ByteReader r(body.substr(kMagic.size()));
  const auto want = layout(config);
  if (r.get<std::uint32_t>() != want.size()) return path + " was written by another version";
  for (const auto& [name, value] : want) {
    const auto saved = r.get<std::uint64_t>();
    if (saved != value) {
      return "restart incompatible due to setting for [" + std::string(name) + "]";
    }
  }
  const auto size = r.get<std::uint64_t>();
  const std::size_t at = kMagic.size() + sizeof(std::uint32_t) + (want.size() + 1) * 8;
  if (!r.ok() || size != body.size() - std::min(at, body.size())) {
    return path + " is damaged (wrong length)";
  }
  snapshot.assign(body.substr(at));
  return {};
}

std::string write_warm_meta(const Store& store) {
  const StoreConfig& config = store.config();
  ByteWriter w;
  w.bytes().append(kMagic);
  const auto fields = layout(config);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(fields.size()));
  for (const auto& field : fields) w.put<std::uint64_t>(field.second);
  const std::string snap = store.snapshot();
  w.put<std::uint64_t>(snap.size());
  w.bytes().append(snap);
  w.put<std::uint64_t>(checksum(w.bytes()));

  const std::string path = warm_meta_path(config.memory_file);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot create " + tmp + ": " + std::strerror(errno);
  const std::string& bytes = w.bytes();
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string e = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return "cannot write " + tmp + ": " + e;
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string e = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "cannot save " + path + ": " + e;
  }
  return {};
}

void remove_warm_meta(const StoreConfig& config) {
  ::unlink(warm_meta_path(config.memory_file).c_str());
}

}  // namespace memcoro::store
