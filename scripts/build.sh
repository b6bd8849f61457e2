#!/bin/sh
# Configures and builds memcoro. Usage: scripts/build.sh [release|debug|asan|tsan]
# Each flavour has its own directory: build/<flavour>.
set -eu
cd "$(dirname "$0")/.."
flavour="${1:-release}"
case "$flavour" in
  release) opts="-DCMAKE_BUILD_TYPE=RelWithDebInfo" ;;
  debug)   opts="-DCMAKE_BUILD_TYPE=Debug" ;;
  asan)    opts="-DCMAKE_BUILD_TYPE=Debug -DMEMCORO_SANITIZE=address" ;;
  tsan)    opts="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMCORO_SANITIZE=thread" ;;
  *) echo "usage: $0 [release|debug|asan|tsan]" >&2; exit 64 ;;
esac
jobs="$(nproc 2>/dev/null || echo 2)"
# shellcheck disable=SC2086
cmake -S . -B "build/$flavour" -G Ninja $opts >/dev/null
cmake --build "build/$flavour" -j "$jobs"
