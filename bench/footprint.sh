#!/usr/bin/env bash
# Footprint: idle RSS and start-up time (process start → listening, → ready) of the router against
# HAProxy + dnsmasq, the pair it replaces on a node. One service in the registry.
#   BENCH_SECOND_DLL (another build measured beside it, a router.dll or a native binary)
source "$(dirname "$0")/lib.sh"

IDLE="${BENCH_IDLE_SECONDS:-5}"
echo "== Footprint (idle RSS after ${IDLE}s, start-up)"
start_etcd
free_port backend; free_port hap; free_port dns
etcdput /services/web/scheme http
etcdput /services/web/hosts/1 "127.0.0.1:$backend"
dir="$(mktemp -d)"; _tmpdirs+=("$dir")
haproxy_config "$dir/haproxy.cfg" "$hap" "$backend"
wait_quiet

starts() { # NAME PIDVAR LOG PROBES… -- COMMAND…
  local name="$1" log="$2"; shift 2
  local rc=0
  benchtool startup --name "$name" --pidfile "$dir/$name.pid" "$@" >"$log" 2>&1 || rc=$?
  [ -s "$dir/$name.pid" ] && track "$(cat "$dir/$name.pid")"
  [ "$rc" = 0 ] || { echo "$name did not start; see $log" >&2; exit 1; }
  grep -a '^RESULT ' "$log" | sed 's/^RESULT //' | while IFS== read -r k v; do result "footprint_$k" "$v"; done
}

# dnsmasq first: the routers relay to it (nothing is asked of it unless a test asks).
starts dnsmasq "$OUT/dnsmasq-footprint.log" --listen "dns:127.0.0.1:$dns" -- \
  taskset -c "$PROXY_CPU" dnsmasq --keep-in-foreground --conf-file=/dev/null --port "$dns" --listen-address 127.0.0.1 \
  --bind-interfaces --no-resolv --no-hosts --address=/local/127.0.0.1 --pid-file= --user=root
starts haproxy "$OUT/haproxy-footprint.log" --listen "tcp:127.0.0.1:$hap" -- \
  taskset -c "$PROXY_CPU" haproxy -db -f "$dir/haproxy.cfg"
# The router does both jobs, so it answers DNS too (on loopback, relaying to the dnsmasq above).
router_starts() { # NAME BUILD
  local http admin rdns
  free_port http; free_port admin; free_port rdns
  starts "$1" "$OUT/$1-footprint.log" --listen "tcp:127.0.0.1:$http" --ready "http://127.0.0.1:$admin/readyz" -- \
    env "${ROUTER_IMAGE_ENV[@]}" taskset -c "$PROXY_CPU" $(router_command "$2") --etcd "$ETCD_URL" --prefix /services \
    --http "127.0.0.1:$http" --admin "127.0.0.1:$admin" --dns "127.0.0.1:$rdns" --dns-upstream "127.0.0.1:$dns" \
    --tcp-bind 127.0.0.1
}
router_starts router "$ROUTER_DLL"
[ -n "${BENCH_SECOND_DLL:-}" ] && router_starts second "$BENCH_SECOND_DLL"
sleep "$IDLE"
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
h="$(rss_kb "$(cat "$dir/haproxy.pid")")"; d="$(rss_kb "$(cat "$dir/dnsmasq.pid")")"
result footprint_haproxy_rss_mb "$(mb "$h")"
result footprint_dnsmasq_rss_mb "$(mb "$d")"
result footprint_haproxy_plus_dnsmasq_rss_mb "$(mb "$((h + d))")"
for who in router ${BENCH_SECOND_DLL:+second}; do
  r="$(rss_kb "$(cat "$dir/$who.pid")")"
  result "footprint_${who}_rss_mb" "$(mb "$r")"
  result "footprint_${who}_vs_pair_rss" "$(ratio "$r" "$((h + d))")"
done
