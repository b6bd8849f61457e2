#!/bin/sh
# Makes debian:bookworm-slim and debian:bookworm available to podman without
# a registry: when they are missing, builds one minimal Debian 12 root file
# system with debootstrap from the machine's own Debian mirror and imports it
# under both names, so the repository's ordinary Dockerfile builds unchanged.
# Existing images are kept (a second run does nothing).
set -eu
need=""
for image in docker.io/library/debian:bookworm-slim docker.io/library/debian:bookworm; do
  podman image exists "$image" || need="$need $image"
done
[ -z "$need" ] && exit 0

mirror="$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)"
[ -n "$mirror" ] || mirror="$(sed -n 's/^deb \(http[^ ]*\) bookworm .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -n 1)"
[ -n "$mirror" ] || mirror="http://deb.debian.org/debian"

root="$(mktemp -d /var/tmp/memcoro-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "base-images: debootstrap bookworm from $mirror" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
# The image's apt reads the same mirror the host does.
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" \
  > "$root/etc/apt/sources.list"
id="$(tar -C "$root" -c . | podman import -q - docker.io/library/debian:bookworm-slim)"
podman tag "$id" docker.io/library/debian:bookworm
echo "base-images: imported $id as debian:bookworm-slim and debian:bookworm" >&2
