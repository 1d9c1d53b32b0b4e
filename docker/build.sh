#!/usr/bin/env bash
# Builds the images from the repository and Debian's package archive, with no registry and the
# legacy builder (Debian's docker.io without BuildKit; podman/buildah too):
#
#   docker/build.sh [base] [router] [announcer] [etcd]     (default: base router announcer)
#
#   base       docker/base.sh's root filesystem, imported as $BASE_IMAGE (skipped when present)
#   router     router:$TAG      the router, self-contained, on the base
#   announcer  announcer:$TAG   the announcer, self-contained, on the base
#   etcd       etcd-debian:$TAG Debian's etcd-server on the base (for tests: the Testcontainers path)
#
#   docker/build.sh app router|announcer DIR   only the app folder an image copies (tests read it)
#
# Environment: DOCKER (the client command, default "docker"; DOCKER_HOST chooses the daemon),
# TAG (default "latest"), BASE_IMAGE (default router-base:bookworm), BASE_TAR (a tarball from
# docker/base.sh to import instead of building one; written there when absent), RID (linux-x64),
# AOT (1: the router as a native ahead-of-time binary; default 0, the JIT build).
set -euo pipefail
cd "$(dirname "$0")/.."

docker=${DOCKER:-docker}
tag=${TAG:-latest}
base_image=${BASE_IMAGE:-router-base:bookworm}
rid=${RID:-linux-x64}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(base router announcer)

staging=$(mktemp -d "${TMPDIR:-/tmp}/router-images-XXXXXX")
trap 'rm -rf "$staging"' EXIT

base() {
  if $docker image inspect "$base_image" >/dev/null 2>&1; then
    return
  fi
  local tar=${BASE_TAR:-$staging/base.tar}
  if [ ! -s "$tar" ]; then
    # Two builds sharing one BASE_TAR (tests/Deploy.Tests and the cluster box's image variant run side by side)
    # make it once: the second waits for the first, then finds the tar, instead of both writing one partial file.
    exec 9>"$tar.lock"
    flock 9
    if [ ! -s "$tar" ]; then
      docker/base.sh "$tar.partial"
      mv "$tar.partial" "$tar"
    fi
    exec 9>&-
  fi
  $docker import "$tar" "$base_image"
}

# Self-contained: the image needs no .NET base image (none can be pulled here) and no runtime
# beside the app. NuGetAudit=false: the vulnerability audit needs the network and, with warnings
# as errors, fails an offline build (NU1900); the regular build (scripts/test) still audits the
# same packages.
publish() {
  local project=$1 out=$2
  shift 2
  dotnet publish "$project" -c Release -r "$rid" --self-contained \
    -p:NuGetAudit=false -p:UseSharedCompilation=false -nodeReuse:false \
    -nologo -clp:ErrorsOnly -o "$out" "$@"
}

# AOT=1: the router compiled ahead of time into one native binary (half the idle memory, a third of the start-up,
# docs/benchmarks.md); needs clang and zlib1g-dev on the build machine. The debug symbols stay out of the image.
router_app() {
  if [ "${AOT:-0}" = 1 ]; then
    publish src/Router/Router.csproj "$1" -p:PublishAot=true
    rm -f "$1"/*.dbg "$1"/*.pdb
    # The image names this library in DOTNET_GCName; a native binary whose GC library is missing exits silently.
    [ -f "$1/libclrgc.so" ] || { echo "the AOT publish has no libclrgc.so (Router.csproj, CopySegmentsGc)" >&2; exit 1; }
  else
    publish src/Router/Router.csproj "$1"
  fi
}

announcer_app() {
  publish src/Announcer/Announcer.csproj "$1"
}

router() {
  local context=$staging/router
  router_app "$context/app"
  cp docker/router-healthcheck "$context/"
  local gc=""
  [ "${AOT:-0}" = 1 ] && gc=libclrgc.so
  $docker build --network none -f docker/router.Dockerfile --build-arg BASE="$base_image" --build-arg GC_NAME="$gc" -t "router:$tag" "$context"
}

announcer() {
  local context=$staging/announcer
  announcer_app "$context/app"
  $docker build --network none -f docker/announcer.Dockerfile --build-arg BASE="$base_image" -t "announcer:$tag" "$context"
}

etcd() {
  local context=$staging/etcd
  mkdir -p "$context/deb"
  (cd "$context/deb" && apt-get download -q etcd-server >/dev/null)
  dpkg-deb -x "$context"/deb/etcd-server_*.deb "$context/root"
  $docker build --network none -f docker/etcd.Dockerfile --build-arg BASE="$base_image" -t "etcd-debian:$tag" "$context/root"
}

if [ "${targets[0]}" = app ]; then
  if [ $# -ne 3 ] || { [ "$2" != router ] && [ "$2" != announcer ]; }; then
    echo "usage: $0 app router|announcer DIR" >&2
    exit 2
  fi
  "${2}_app" "$3"
  exit 0
fi

# --network none: nothing in a build needs the network (the router's RUN only sets a capability),
# and it also works on a daemon started without a bridge.
for target in "${targets[@]}"; do
  case $target in
    base | router | announcer | etcd) "$target" ;;
    *) echo "unknown image '$target' (base, router, announcer, etcd)" >&2; exit 2 ;;
  esac
done
