# Sourced by scripts/run, scripts/test and .ci/run: installs from Debian's packages the tools they need, only
# those missing, so each README command works on a fresh machine in either order. A no-op when all are there.
#
#   deps_need COMMAND=PACKAGE ...   e.g. deps_need etcd=etcd-server dig=bind9-dnsutils
#
# COMMAND is looked up on PATH, then in /usr/sbin and /sbin (dnsmasq lives there and is not on a user's PATH).

# What the test projects start: etcd and etcdctl (registry tests), dnsmasq and dig (DNS tests),
# systemd-analyze (unit file tests), haproxy (the peer of the differential tests and the cluster box's load
# balancer), python3, ip and curl (the cluster box of tests/Cluster.Tests), dockerd and mmdebstrap (the image
# tests of tests/Deploy.Tests build the images from Debian's packages and run them on a private dockerd; the
# cluster box's image variant runs the router image on a dockerd per node, entered with util-linux's nsenter),
# chromium (the admin status page's browser test drives Debian's headless Chromium through Playwright).
DEPS_TEST=(etcd=etcd-server etcdctl=etcd-client dnsmasq=dnsmasq-base dig=bind9-dnsutils systemd-analyze=systemd
  haproxy=haproxy python3=python3 ip=iproute2 curl=curl dockerd=docker.io mmdebstrap=mmdebstrap nsenter=util-linux
  chromium=chromium openssl=openssl)

# What scripts/run starts or shows: the same etcd and dnsmasq, python3 for the demo backend, curl to wait for the
# router, dig for the DNS lines it prints.
DEPS_RUN=(etcd=etcd-server etcdctl=etcd-client dnsmasq=dnsmasq-base dig=bind9-dnsutils python3=python3 curl=curl)

deps_has() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

deps_need() {
  local pair missing=()
  for pair in "$@"; do
    deps_has "${pair%%=*}" || missing+=("${pair#*=}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0

  if ! command -v apt-get >/dev/null 2>&1; then
    echo "Missing packages: ${missing[*]}; this is no Debian machine, so install them yourself." >&2
    return 1
  fi

  local root=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "Missing packages: ${missing[*]}; installing them needs root (sudo apt-get install -y ${missing[*]})." >&2
      return 1
    fi
    root=(sudo)
  fi

  echo "Installing ${missing[*]} from Debian's packages..." >&2
  "${root[@]}" apt-get update -qq \
    && "${root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
