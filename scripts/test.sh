#!/bin/sh
# Installs dependencies, builds, and runs every test.
#   scripts/test.sh          everything: the whole suite on a release build, then
#                            again under ASan+UBSan and under TSan
#   scripts/test.sh release  the whole suite, release build only
#   scripts/test.sh asan     the whole suite under ASan+UBSan
#   scripts/test.sh tsan     the whole suite under TSan
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs="$(nproc 2>/dev/null || echo 2)"
suite() {  # suite FLAVOUR [ctest args...]
  f="$1"
  shift
  scripts/build.sh "$f"
  ctest --test-dir "build/$f" --output-on-failure -j "$jobs" "$@"
}
case "${1:-all}" in
  all)
    suite release
    suite asan
    suite tsan
    ;;
  release|asan|tsan|debug) suite "$1" ;;
  *) echo "usage: $0 [all|release|asan|tsan|debug]" >&2; exit 64 ;;
esac
