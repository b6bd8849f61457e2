// Fuzz target: bytes a client might send, through the text/meta parser and
// execute() over a real store, the way a connection feeds them: the input
// arrives in chunks (the first byte picks their size), what is parsed runs,
// a request cut short waits for the next chunk. Nothing may crash, leak or
// read out of bounds (ASan/UBSan), every request must make progress, every
// answer must end its line, and item memory must stay under the limit.
//
// Built with clang and -DMEMCORO_FUZZ=ON (scripts/fuzz.sh) it is a
// libFuzzer target; otherwise it is a program that runs the files or
// directories it is given once each (the seed corpus, in ctest).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "memcoro/exec/execute.hpp"
#include "memcoro/protocol/text_parser.hpp"
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

// What a connection would write: every reply ends its line.
void send(exec::Output& out) {
  std::string reply;
  out.for_each_span([&](std::string_view s) { reply += s; });
  check(reply.empty() || reply.ends_with("\r\n"), "a reply does not end its line");
  out.clear();
}

void run_one(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  static World world;  // state carries over between inputs, as in a server
  world.clock.advance(1);
  exec::Context ctx{world.store, world.counters, nullptr, &world.prefixes};
  ctx.reply_limit = 512;  // multi-gets answer in parts, as under a server's cap
  const std::size_t chunk = std::size_t{data[0]} + 1;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  std::string buf;
  std::size_t fed = 0, swallow = 0;
  protocol::Command cmd;
  exec::Output out;
  bool closed = false;
  while (!closed && fed < input.size()) {
    const std::size_t n = std::min(chunk, input.size() - fed);
    buf.append(input.substr(fed, n));
    fed += n;
    std::size_t start = 0;
    for (;;) {
      if (swallow > 0) {
        const std::size_t k = std::min(swallow, buf.size() - start);
        start += k;
        swallow -= k;
        if (swallow > 0) break;
      }
      if (start == buf.size()) break;
      const std::string_view pending = std::string_view(buf).substr(start);
      const protocol::ParseResult r = protocol::parse_text(pending, cmd, world.limits);
      if (r.status == protocol::ParseStatus::need_more) break;
      if (r.status == protocol::ParseStatus::close) {
        closed = true;
        break;
      }
      check(r.consumed > 0, "a request was parsed without consuming bytes");
      check(r.consumed <= pending.size(), "a request consumed more than it had");
      if (r.status == protocol::ParseStatus::error) {
        if (!r.silent) exec::write_error(r.error, out);
      } else {
        exec::After after = exec::execute(cmd, ctx, out);
        for (std::size_t parts = 1; after == exec::After::more; ++parts) {
          check(out.size() >= ctx.reply_limit, "a reply was cut short below the limit");
          check(parts <= cmd.key_list.size(), "a multi-get makes no progress");
          send(out);
          after = exec::execute(cmd, ctx, out);
        }
        closed = after == exec::After::close;
      }
      start += r.consumed;
      swallow = r.swallow;
    }
    buf.erase(0, start);
    send(out);
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
