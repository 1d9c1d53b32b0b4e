#!/usr/bin/env bash
# Route-live latency: etcd put of a new service (scheme and host in one transaction) → first routed 200
# through the router, over BENCH_CHANGES (100) changes. The router on CPU 0, the probe on CPU 1.
source "$(dirname "$0")/lib.sh"

CHANGES="${BENCH_CHANGES:-100}"
echo "== Route-live latency ($CHANGES new services, put → first routed 200)"
start_etcd
free_port backend; free_port http; free_port admin
etcdput /services/web/scheme http
etcdput /services/web/hosts/1 "127.0.0.1:$backend"
start_nginx "$backend"
start_router route-live "$http" "$admin"
warm_request_paths "$http" web.bench
wait_quiet
taskset -c "$LOAD_CPU" dotnet "$BENCHTOOL_DLL" route-live --etcd "$ETCD_URL" --router "127.0.0.1:$http" \
  --backend "127.0.0.1:$backend" --count "$CHANGES" >"$OUT/route-live.txt"
while IFS== read -r key value; do
  case "$key" in
    route_live_p50_ms|route_live_p99_ms|route_live_max_ms|route_live_count|route_live_failed|route_live_put_ack_p50_ms|route_live_put_ack_p99_ms|route_live_put_ack_max_ms)
      result "$key" "$value" ;;
  esac
done < <(sed -n 's/^RESULT //p' "$OUT/route-live.txt")
# The router's own account of each change (the watcher's "Applied" event: "applied in {ElapsedMs} ms").
jq -R -r 'fromjson? | select(.EventId.Name == "Applied" and .SourceContext == "Router.Registry.Etcd.RegistryWatcher") | .ElapsedMs' "$OUT/router-route-live.log" >"$OUT/route-live-apply.txt" 2>/dev/null || true
result route_live_apply_p50_ms "$(median <"$OUT/route-live-apply.txt")"
result route_live_apply_max_ms "$(sort -g "$OUT/route-live-apply.txt" | tail -1)"
