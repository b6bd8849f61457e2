// Fuzz target: bytes a client might send, through the server's own
// connection handler (exec::Connection: read buffer, parser, execute() over
// a real store, large values received in place), fed the way a socket
// feeds it: the input arrives in chunks (the first byte picks their size),
// a request cut short waits for the next chunk. Nothing may crash, leak or
// read out of bounds (ASan/UBSan), every request must make progress, every
// text answer must end its line (binary: be whole packets), and item memory
// must stay under the limit. A first byte of 0x80 makes it a binary client.
//
// Built with clang and -DMEMCORO_FUZZ=ON (scripts/fuzz.sh) it is a
// libFuzzer target; otherwise it is a program that runs the files or
// directories it is given once each (the seed corpus, in ctest).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "memcoro/exec/connection.hpp"
#include "memcoro/exec/execute.hpp"
#include "memcoro/stats/prefix.hpp"

namespace {

using namespace memcoro;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "text_fuzz: invariant broken: %s\n", what);
    std::abort();
  }
}

constexpr std::size_t kMemory = 2u << 20;

struct World {
  store::ManualClock clock{1'700'000'000};
  store::StoreConfig config = [] {
    store::StoreConfig c;
    c.memory_limit = kMemory;
    c.max_item_size = 64 * 1024;
    return c;
  }();
  store::Store store{config, clock};
  stats::ThreadCounters counters;
  stats::PrefixStats prefixes;
  protocol::ParserLimits limits = [] {
    protocol::ParserLimits l;
    l.max_item_size = 64 * 1024;
    l.max_get_line = 16 * 1024;
    return l;
  }();
};

// Whole binary-protocol response packets, back to back.
bool whole_packets(std::string_view r) {
  while (!r.empty()) {
    if (r.size() < 24 || static_cast<unsigned char>(r[0]) != 0x81) return false;
    std::size_t body = 0;
    for (int i = 8; i < 12; ++i) body = body << 8 | static_cast<unsigned char>(r[i]);
    if (r.size() < 24 + body) return false;
    r.remove_prefix(24 + body);
  }
  return true;
}

// What a transport would write: every text reply ends its line, binary
// replies are whole packets.
void send(exec::Output& out, bool binary) {
  std::string reply;
  out.for_each_span([&](std::string_view s) { reply += s; });
  if (binary) {
    check(whole_packets(reply), "a binary reply is not whole packets");
  } else {
    check(reply.empty() || reply.ends_with("\r\n"), "a reply does not end its line");
  }
  out.clear();
}

// The input is a client's byte stream; the connection is the server's own
// exec::Connection, driven as the server's transport drives it (large
// values included, received in place).
void run_one(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  static World world;  // state carries over between inputs, as in a server
  world.clock.advance(1);
  exec::Context ctx{world.store, world.counters, nullptr, &world.prefixes};
  ctx.reply_limit = 512;  // multi-gets answer in parts, as under a server's cap
  exec::StoreRunner runner(ctx);
  exec::Connection conn(runner, world.limits);
  const std::size_t chunk = std::size_t{data[0]} + 1;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool binary = !input.empty() && static_cast<unsigned char>(input[0]) == 0x80;
  std::size_t fed = 0;
  std::size_t writes = 0;  // since the last read: bounded, or no progress is made
  for (bool open = true; open;) {
    const exec::Connection::Step step = conn.next();
    switch (step.kind) {
      case exec::Connection::Step::close:
      case exec::Connection::Step::wait: open = false; break;
      case exec::Connection::Step::write:
        check(!conn.output().empty(), "asked to write nothing");
        check(++writes <= input.size() + 2, "a connection writes without making progress");
        send(conn.output(), binary);
        break;
      case exec::Connection::Step::read: {
        check(!step.space.empty(), "asked to read into no room");
        const std::size_t n = std::min({chunk, input.size() - fed, step.space.size()});
        if (n == 0) {
          open = false;  // the client is done
          break;
        }
        std::memcpy(step.space.data(), input.data() + fed, n);
        fed += n;
        writes = 0;
        conn.received(n);
        break;
      }
      case exec::Connection::Step::read_exact:
        check(!step.space.empty(), "asked to read exactly nothing");
        if (input.size() - fed < step.space.size()) {
          open = false;  // the client left in the middle of a value
          break;
        }
        std::memcpy(step.space.data(), input.data() + fed, step.space.size());
        fed += step.space.size();
        writes = 0;
        conn.received(step.space.size());
        break;
    }
  }
  // cache_memlimit may have moved the limit (state carries over).
  const std::size_t limit = world.store.slabs().limit();
  check(world.store.slabs().malloced() <= limit, "item memory above the limit");
  check(world.store.counters().bytes <= limit, "stored bytes above the limit");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  run_one(data, size);
  return 0;
}

#ifndef MEMCORO_LIBFUZZER
int main(int argc, char** argv) {
  std::size_t runs = 0;
  auto run_file = [&](const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    run_one(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ++runs;
  };
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p)) run_file(e.path());
    } else {
      run_file(p);
    }
  }
  std::printf("text_fuzz: %zu inputs ran\n", runs);
  return runs > 0 ? 0 : 1;
}
#endif
