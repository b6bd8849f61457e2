#!/bin/sh
# Fuzzes the text and meta protocol (parser + execute over a real store) with
# libFuzzer under ASan/UBSan. Usage: scripts/fuzz.sh [SECONDS] (default 300)
# Builds with clang in build/fuzz; the corpus grows in build/fuzz/corpus,
# starting from the conformance cases; a crash leaves its input in
# build/fuzz/ (crash-*), which `build/fuzz/test/text_fuzz FILE` replays;
# once fixed, keep the input in test/fuzz/regressions.
set -eu
cd "$(dirname "$0")/.."
seconds="${1:-300}"
if ! command -v clang++ >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y clang
  else
    echo "fuzz.sh: needs clang (apt-get install clang)" >&2
    exit 69
  fi
fi
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMEMCORO_FUZZ=ON -DMEMCORO_WERROR=OFF >/dev/null
cmake --build build/fuzz --target text_fuzz
/usr/bin/python3 test/fuzz/seeds.py --out build/fuzz/corpus
cp test/fuzz/regressions/* build/fuzz/corpus/
cd build/fuzz
exec test/text_fuzz -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=4096 corpus
