#!/usr/bin/env bash
# Scale: BENCH_SERVICES (10,000) services × BENCH_HOSTS (3) hosts in etcd, then the router starts: time to
# listening and to /readyz 200, RSS once ready, and what one change costs at that size (the router's own
# "applied in" figure, and put → first routed 200 for a new service and for a changed host).
source "$(dirname "$0")/lib.sh"

SERVICES="${BENCH_SERVICES:-10000}"
HOSTS="${BENCH_HOSTS:-3}"
echo "== Scale ($SERVICES services × $HOSTS hosts)"
start_etcd
free_port backend; free_port http; free_port admin
start_nginx "$backend"
benchtool load --etcd "$ETCD_URL" --services "$SERVICES" --hosts "$HOSTS" >"$OUT/scale-load.txt"
sed -n 's/^RESULT //p' "$OUT/scale-load.txt" | while IFS== read -r k v; do result "scale_$k" "$v"; done
wait_quiet
benchtool startup --name scale_startup --pidfile "$OUT/scale-router.pid" \
  --listen "tcp:127.0.0.1:$http" --ready "http://127.0.0.1:$admin/readyz" -- \
  env "${ROUTER_IMAGE_ENV[@]}" taskset -c "$PROXY_CPU" $(router_command "$ROUTER_DLL") --etcd "$ETCD_URL" --prefix /services \
  --http "127.0.0.1:$http" --admin "127.0.0.1:$admin" --dns off --tcp-bind 127.0.0.1 >"$OUT/router-scale.log" 2>&1 || rc=$?
[ -s "$OUT/scale-router.pid" ] && { pid="$(cat "$OUT/scale-router.pid")"; track "$pid"; }
[ "${rc:-0}" = 0 ] || { echo "the router did not get ready; see $OUT/router-scale.log" >&2; exit 1; }
grep -a '^RESULT ' "$OUT/router-scale.log" | sed 's/^RESULT //' | while IFS== read -r k v; do result "$k" "$v"; done
result scale_rss_ready_mb "$(( $(rss_kb "$pid") / 1024 ))"
services="$(curl -s "http://127.0.0.1:$admin/status" | jq '.services | length')"
result scale_services_routed "$services"
result scale_full_read_ms "$(jq -R -r 'fromjson? | select(.EventId.Name == "Loaded" and .SourceContext == "Router.Registry.Etcd.RegistryWatcher") | .ElapsedMs' "$OUT/router-scale.log" 2>/dev/null | head -1)"

taskset -c "$LOAD_CPU" dotnet "$BENCHTOOL_DLL" route-live --name scale_new_service --etcd "$ETCD_URL" \
  --router "127.0.0.1:$http" --backend "127.0.0.1:$backend" --count "${BENCH_SCALE_CHANGES:-50}" >"$OUT/scale-route-live.txt"
taskset -c "$LOAD_CPU" dotnet "$BENCHTOOL_DLL" host-changes --etcd "$ETCD_URL" --router "127.0.0.1:$http" \
  --backend "127.0.0.1:$backend" --count "${BENCH_SCALE_CHANGES:-50}" >"$OUT/scale-host-changes.txt"
sed -n 's/^RESULT //p' "$OUT/scale-route-live.txt" "$OUT/scale-host-changes.txt" | grep -E '_(p50|p99|max)_ms=|_failed=' | grep -v put_ack |
  while IFS== read -r k v; do result "$k" "$v"; done
jq -R -r 'fromjson? | select(.EventId.Name == "Applied" and .SourceContext == "Router.Registry.Etcd.RegistryWatcher") | .ElapsedMs' "$OUT/router-scale.log" >"$OUT/scale-apply.txt" 2>/dev/null || true
result scale_change_apply_count "$(wc -l <"$OUT/scale-apply.txt")"
result scale_change_apply_p50_ms "$(median <"$OUT/scale-apply.txt")"
result scale_change_apply_max_ms "$(sort -g "$OUT/scale-apply.txt" | tail -1)"
result scale_rss_after_changes_mb "$(( $(rss_kb "$pid") / 1024 ))"
