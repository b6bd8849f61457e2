#!/bin/sh
# Installs what building and testing memcoro needs, from Debian's packages.
# Does nothing when everything is already installed.
set -eu
PKGS="build-essential cmake ninja-build pkg-config
      libboost1.81-dev libabsl-dev catch2 nlohmann-json3-dev libbenchmark-dev liburing-dev
      memcached python3 python3-pymemcache libmemcached-tools linux-perf
      libcache-memcached-fast-perl netcat-openbsd clang-format curl sasl2-bin python3-pylibmc
      python3-prometheus-client chromium nutcracker
      podman buildah runc podman-compose debootstrap
      golang-github-containernetworking-plugin-dnsname"
# podman-compose's services find each other by name through the CNI dnsname
# plugin, which podman only recommends; without it twemproxy cannot resolve
# the nodes of deploy/compose.yaml.
missing=""
for p in $PKGS; do
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
