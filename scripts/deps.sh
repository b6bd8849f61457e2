#!/bin/sh
# Installs what building and testing memcoro needs, from Debian's packages.
# Does nothing when everything is already installed.
set -eu
PKGS="build-essential cmake ninja-build pkg-config
      libboost1.81-dev libabsl-dev catch2 nlohmann-json3-dev libbenchmark-dev liburing-dev
      libssl-dev openssl
      memcached python3 python3-pymemcache libmemcached-tools linux-perf
      libcache-memcached-fast-perl netcat-openbsd clang-format curl sasl2-bin python3-pylibmc
      python3-prometheus-client python3-websocket chromium nutcracker ruby ruby-dalli nodejs npm
      podman buildah runc podman-compose debootstrap
      golang-github-containernetworking-plugin-dnsname"
# podman-compose's services find each other by name through the CNI dnsname
# plugin, which podman only recommends; without it twemproxy cannot resolve
# the nodes of deploy/compose.yaml.
# memjs, the Node client the binary-protocol tests run, comes from npm into
# the git-ignored .cache/npm: fetched once per clone here, so that a test run
# needs no network (the test fetches it itself if this was skipped, and skips
# when npm cannot). Not fatal: offline, those tests skip.
memjs() {
  [ -e .cache/npm/node_modules/memjs/package.json ] && return 0
  command -v npm >/dev/null || return 0
  npm install --prefix .cache/npm --no-audit --no-fund memjs@1.3.2 >/dev/null 2>&1 ||
    echo "deps.sh: npm could not fetch memjs; its tests will skip" >&2
}
cd "$(dirname "$0")/.."
trap memjs EXIT
missing=""
for p in $PKGS; do
  # NodeSource's nodejs carries npm and conflicts with Debian's npm package.
  [ "$p" = npm ] && command -v npm >/dev/null && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
