#!/bin/sh
# Installs dependencies, builds, and runs memcoro (default: port 11211 on
# 127.0.0.1). Extra arguments go to memcoro, e.g. scripts/run.sh -l 0.0.0.0 -m 1024
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh release
exec build/release/apps/memcoro/memcoro "$@"
