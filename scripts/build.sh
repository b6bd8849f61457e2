#!/bin/sh
# Configures and builds memcoro. Usage: scripts/build.sh [release|debug|asan|tsan]
# Each flavour has its own directory: build/<flavour>.
set -eu
cd "$(dirname "$0")/.."
flavour="${1:-release}"
# release, asan and tsan carry line tables only (-g1): enough for perf,
# sanitizer reports and backtraces, and a good part of the compile time of
# full debug information spared (Asio's and Beast's templates); debug has it
# all. The sanitizer builds leave out the load generator and benchmarks/.
o2="-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
case "$flavour" in
  release) set -- -DCMAKE_BUILD_TYPE=RelWithDebInfo "$o2" ;;
  debug)   set -- -DCMAKE_BUILD_TYPE=Debug ;;
  asan)    set -- -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DMEMCORO_SANITIZE=address \
                  -DMEMCORO_BENCHMARKS=OFF ;;
  tsan)    set -- -DCMAKE_BUILD_TYPE=RelWithDebInfo "$o2" -DMEMCORO_SANITIZE=thread \
                  -DMEMCORO_BENCHMARKS=OFF ;;
  *) echo "usage: $0 [release|debug|asan|tsan]" >&2; exit 64 ;;
esac
jobs="$(nproc 2>/dev/null || echo 2)"
cmake -S . -B "build/$flavour" -G Ninja "$@" >/dev/null
cmake --build "build/$flavour" -j "$jobs"
