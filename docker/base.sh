#!/usr/bin/env bash
# Builds the images' base root filesystem as a tarball, from Debian's package archive alone (no
# registry): `docker import` (or `podman import`) turns it into the base image.
#
#   docker/base.sh OUT.tar [EXTRA_PACKAGE...]
#
# The router and the announcer are published self-contained (docker/build.sh), so the base holds
# only what the .NET runtime loads from the system with InvariantGlobalization (no ICU): glibc,
# libstdc++/libgcc, OpenSSL 3 (TLS to etcd and on 443), zlib, the CA bundle; bash for the
# router's HEALTHCHECK, and setcap (libcap2-bin) for the router's file capability: a capability set
# on the build machine does not survive the build context (measured: docker.io 20.10's COPY drops it). mmdebstrap's "extract" variant unpacks exactly these and their
# dependencies, without dpkg, apt or maintainer scripts, so the few things a maintainer script
# would do are done by the hooks below. Needs root (or mmdebstrap's unshare mode) and the archive
# configured in /etc/apt/sources.list*.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 OUT.tar [EXTRA_PACKAGE...]" >&2
  exit 2
fi
out=$1
shift
suite=${SUITE:-bookworm}
packages=(libc6 libgcc-s1 libstdc++6 libssl3 zlib1g ca-certificates bash libcap2-bin "$@")
include=$(IFS=,; echo "${packages[*]}")

# Hooks run on the host with the root filesystem's path as $1, right after the extraction
# (customize hooks do not run for the extract variant):
# - ldconfig: libc-bin's trigger would build /etc/ld.so.cache; without it the loader does not look
#   in /usr/lib/x86_64-linux-gnu, where libssl3 and zlib1g live.
# - users: base-passwd is not there; root, and "app" 1654:1654 as in Microsoft's .NET images (the
#   unit's `install -o 1654` and the docs rely on that number).
# - the CA bundle that ca-certificates' postinst would write (update-ca-certificates), from the
#   same Mozilla set, where OpenSSL looks for it by default (/usr/lib/ssl/cert.pem).
# - /tmp: .NET puts its diagnostics sockets there.
# - docs, man pages and locales are no use in a container.
mmdebstrap --variant=extract --include="$include" --format=tar \
  --extract-hook='ldconfig -r "$1"' \
  --extract-hook='printf "root:x:0:0:root:/root:/bin/bash\napp:x:1654:1654:app:/nonexistent:/usr/sbin/nologin\n" >"$1/etc/passwd"' \
  --extract-hook='printf "root:x:0:\napp:x:1654:\n" >"$1/etc/group"' \
  --extract-hook='mkdir -p "$1/etc/ssl/certs" "$1/usr/lib/ssl" && cat "$1"/usr/share/ca-certificates/mozilla/*.crt >"$1/etc/ssl/certs/ca-certificates.crt" && ln -sfn /etc/ssl/certs "$1/usr/lib/ssl/certs" && ln -sfn /etc/ssl/certs/ca-certificates.crt "$1/usr/lib/ssl/cert.pem"' \
  --extract-hook='mkdir -p -m 1777 "$1/tmp"' \
  --extract-hook='rm -rf "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/info/* "$1"/usr/share/locale/* "$1"/usr/share/lintian' \
  "$suite" "$out"
