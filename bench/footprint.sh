#!/usr/bin/env bash
# Footprint: idle RSS and start-up time (process start → listening, → ready) of the router against
# HAProxy + dnsmasq, the pair it replaces on a node. One service in the registry.
source "$(dirname "$0")/lib.sh"

IDLE="${BENCH_IDLE_SECONDS:-5}"
echo "== Footprint (idle RSS after ${IDLE}s, start-up)"
start_etcd
free_port backend; free_port http; free_port admin; free_port hap; free_port dns
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

starts router "$OUT/router-footprint.log" --listen "tcp:127.0.0.1:$http" --ready "http://127.0.0.1:$admin/readyz" -- \
  taskset -c "$PROXY_CPU" $(router_command "$ROUTER_DLL") --etcd "$ETCD_URL" --prefix /services \
  --http "127.0.0.1:$http" --admin "127.0.0.1:$admin" --dns off --tcp-bind 127.0.0.1
starts haproxy "$OUT/haproxy-footprint.log" --listen "tcp:127.0.0.1:$hap" -- \
  taskset -c "$PROXY_CPU" haproxy -db -f "$dir/haproxy.cfg"
starts dnsmasq "$OUT/dnsmasq-footprint.log" --listen "dns:127.0.0.1:$dns" -- \
  taskset -c "$PROXY_CPU" dnsmasq --keep-in-foreground --conf-file=/dev/null --port "$dns" --listen-address 127.0.0.1 \
  --bind-interfaces --no-resolv --no-hosts --address=/local/127.0.0.1 --pid-file= --user=root
sleep "$IDLE"
r="$(rss_kb "$(cat "$dir/router.pid")")"; h="$(rss_kb "$(cat "$dir/haproxy.pid")")"; d="$(rss_kb "$(cat "$dir/dnsmasq.pid")")"
result footprint_router_rss_mb "$(awk -v k="$r" 'BEGIN { printf "%.1f", k / 1024 }')"
result footprint_haproxy_rss_mb "$(awk -v k="$h" 'BEGIN { printf "%.1f", k / 1024 }')"
result footprint_dnsmasq_rss_mb "$(awk -v k="$d" 'BEGIN { printf "%.1f", k / 1024 }')"
result footprint_haproxy_plus_dnsmasq_rss_mb "$(awk -v k="$((h + d))" 'BEGIN { printf "%.1f", k / 1024 }')"
result footprint_router_vs_pair_rss "$(ratio "$r" "$((h + d))")"
