#!/bin/sh
# Installs dependencies, builds, and runs every test.
#   scripts/test.sh            everything: the whole suite on a release build,
#                              the container test, then the suite again under
#                              ASan+UBSan, and its tests that involve several
#                              threads (label `threads`) under TSan
#   scripts/test.sh release    the whole suite, release build only
#   scripts/test.sh asan       the whole suite under ASan+UBSan (the load
#                              generator's smoke tests aside: not built there)
#   scripts/test.sh tsan       the `threads` tests under TSan
#   scripts/test.sh container  the image and the compose cluster, with podman
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
# The Dockerfile builds memcoro itself, so this needs no build here. Once, not
# per flavour: the image is a release build.
container() {
  CONTAINERS_CONF="$PWD/test/container/containers.conf" \
    /usr/bin/python3 -u test/container/test_container.py
}
case "${1:-all}" in
  all)
    suite release
    container
    suite asan
    suite tsan -L threads
    ;;
  tsan) suite tsan -L threads ;;
  release|asan|debug) suite "$1" ;;
  container) container ;;
  *) echo "usage: $0 [all|release|asan|tsan|debug|container]" >&2; exit 64 ;;
esac
