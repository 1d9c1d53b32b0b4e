#!/bin/sh
# Makes the certificates of one cluster's etcd, once, on the operator's machine (docs/deploy.md,
# "etcd: TLS with client certificates"):
#
#   deploy/etcd-certs.sh OUT_DIR MEMBER_IP...     e.g.  deploy/etcd-certs.sh tls 10.128.0.11 10.128.0.12 10.128.0.13
#
# OUT_DIR/ca.pem, ca-key.pem   the cluster's CA; keep ca-key.pem off the nodes (it signs new certificates)
# OUT_DIR/member.pem, -key.pem every etcd member serves clients and peers with it: its names are 127.0.0.1
#                              (the node's own router and announcers) and every member's private address
#                              (peers and nodes that are no member). One certificate for all members, because
#                              every member node boots from the same file; a new member address needs a new one.
# OUT_DIR/client.pem, -key.pem what routers, announcers, fleet and etcdctl present to etcd
#                              (--client-cert-auth: without a certificate from this CA etcd refuses the connection)
#
# Needs only openssl. Refuses an OUT_DIR that already holds a CA, so a second run never replaces the
# certificates of a running cluster.
set -eu

usage() { echo "usage: $0 OUT_DIR MEMBER_IP..." >&2; exit 2; }
[ $# -ge 2 ] || usage
out=$1
shift
for ip in "$@"; do
  # An address that is no IPv4 address would make openssl write a certificate no member can use.
  echo "$ip" | grep -Eq '^([0-9]{1,3}\.){3}[0-9]{1,3}$' || { echo "$0: '$ip' is not an IPv4 address" >&2; exit 2; }
done
if [ -e "$out/ca.pem" ] || [ -e "$out/ca-key.pem" ]; then
  echo "$0: $out already holds a CA; remove it first to make new certificates for every node" >&2
  exit 1
fi
mkdir -p "$out"
days=${ETCD_CERT_DAYS:-3650}

sans="IP:127.0.0.1"
for ip in "$@"; do sans="$sans,IP:$ip"; done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$days" \
  -subj "/CN=router etcd CA" -keyout "$out/ca-key.pem" -out "$out/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

# leaf NAME CN EXTENDED_USAGE [SANS]: a key and a certificate signed by the CA.
leaf() {
  ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$3"
    [ -z "${4:-}" ] || echo "subjectAltName=$4"
  } > "$ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
    -keyout "$out/$1-key.pem" -out "$out/$1.csr" 2>/dev/null
  openssl x509 -req -in "$out/$1.csr" -CA "$out/ca.pem" -CAkey "$out/ca-key.pem" -CAcreateserial \
    -days "$days" -extfile "$ext" -out "$out/$1.pem" 2>/dev/null
  rm -f "$ext" "$out/$1.csr"
}

# Members dial each other with this certificate too, so it is a client certificate as well.
leaf member "etcd member" serverAuth,clientAuth "$sans"
# etcd with auth enabled would take the user from the CN; "root" would bypass a password, so never that.
leaf client "router-client" clientAuth

rm -f "$out/ca.srl"
chmod 0600 "$out"/*-key.pem
echo "made in $out: ca.pem member.pem member-key.pem client.pem client-key.pem (and ca-key.pem: keep it off the nodes)"
