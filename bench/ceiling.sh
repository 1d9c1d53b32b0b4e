#!/usr/bin/env bash
# Where the HTTP gap to HAProxy lies (issue 22): the router as shipped, HAProxy, and three probes that forward the
# same GET to the same nginx with nothing else to do (bench/Ceiling): one on a Kestrel connection handler (no HTTP
# layer), one as a minimal Kestrel app, and the connection handler's work on Linux's system calls with one epoll
# thread (no .NET socket engine). Each pinned to the proxy CPU in alternating rounds; requests per CPU-second and
# the ratio of each to HAProxy, kept alive and then with a new connection per request.
#   BENCH_ROUNDS (3)  BENCH_SECONDS (8)  BENCH_WARMUP (3)
source "$(dirname "$0")/lib.sh"

ROUNDS="${BENCH_ROUNDS:-3}"
SECONDS_PER_RUN="${BENCH_SECONDS:-8}"
WARMUP="${BENCH_WARMUP:-3}"
CEILING_DLL="$ROOT/bench/Ceiling/bin/Release/net10.0/ceiling.dll"

echo "== HTTP keep-alive ceiling (wrk -t1 -c$WRK_CONNECTIONS -d${SECONDS_PER_RUN}s, $ROUNDS rounds): router, probes, HAProxy"
start_etcd
free_port backend; free_port hap; free_port router; free_port admin; free_port conn; free_port kes; free_port raw
etcdput /services/web/scheme http
etcdput /services/web/hosts/1 "127.0.0.1:$backend"
start_nginx "$backend"
start_haproxy "$hap" "$backend"
start_router ceiling "$router" "$admin"
pid_router=$ROUTER_PID
declare -A mode_port=([connection]=$conn [kestrel]=$kes [epoll]=$raw)
for mode in connection kestrel epoll; do
  port=${mode_port[$mode]}
  taskset -c "$PROXY_CPU" dotnet "$CEILING_DLL" "$mode" "$port" "$backend" >"$OUT/ceiling-$mode.log" 2>&1 &
  track $!
  printf -v "pid_$mode" '%s' $!
  wait_tcp "$port"
done

declare -A url=([router]="http://127.0.0.1:$router/" [connection]="http://127.0.0.1:$conn/" [kestrel]="http://127.0.0.1:$kes/" [epoll]="http://127.0.0.1:$raw/" [haproxy]="http://127.0.0.1:$hap/")
declare -A pid=([router]=$pid_router [connection]=$pid_connection [kestrel]=$pid_kestrel [epoll]=$pid_epoll [haproxy]=$HAPROXY_PID)
for who in router connection kestrel epoll haproxy; do
  body="$(curl -s -H 'Host: web.bench' "${url[$who]}")"
  [ "$body" = "hello from nginx" ] || { echo "$who answered '$body', not nginx's page" >&2; exit 1; }
  # JIT tiering (dynamic PGO) settles in the first seconds.
  wrk_run "${url[$who]}" 15 >/dev/null
done

# rounds KEY PROXY…: ROUNDS alternating rounds of the proxies and HAProxy (wrk's options: WRK_HEADERS), then per
# proxy the median requests per CPU-second and the median of its per-round ratios to HAProxy, as KEY_<proxy>_… figures.
rounds() {
  local key="$1" runs="$OUT/$1-runs.txt" round who rps p50 p99 n cpu err per_cpu
  shift
  : >"$runs"
  for round in $(seq 1 "$ROUNDS"); do
    for who in "$@" haproxy; do
      wait_quiet
      wrk_run "${url[$who]}" "$WARMUP" >/dev/null
      read -r rps p50 p99 n cpu err _ < <(wrk_run "${url[$who]}" "$SECONDS_PER_RUN" "${pid[$who]}")
      per_cpu="$(awk -v n="$n" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? n / c : 0) }')"
      echo "$round $who $rps $per_cpu $p99 $err" >>"$runs"
      printf '  round %d %-10s %8s req/s  %8s req/cpu-s  p99 %7s ms  errors %s\n' "$round" "$who" "$rps" "$per_cpu" "$p99" "$err"
    done
  done
  for who in "$@"; do
    result "${key}_${who}_req_per_cpu_s" "$(awk -v w="$who" '$2 == w { print $4 }' "$runs" | median)"
    result "${key}_${who}_vs_haproxy_req_per_cpu_s" "$(awk -v w="$who" '
      $2 == w { mine[$1] = $4 } $2 == "haproxy" { peer[$1] = $4 }
      END { for (r in mine) if (peer[r] > 0) printf "%.2f\n", mine[r] / peer[r] }' "$runs" | median)"
  done
  result "${key}_haproxy_req_per_cpu_s" "$(awk '$2 == "haproxy" { print $4 }' "$runs" | median)"
}

rounds ceiling router connection kestrel epoll
# A new connection per request. The epoll probe keeps its backend connections in a pool, as the router and HAProxy
# do; the other two probes would connect to nginx once per request, so they sit this one out.
echo "== the same with a new connection per request (wrk -H 'Connection: close'): router, epoll probe, HAProxy"
WRK_HEADERS=(-H 'Connection: close')
rounds ceiling_new_connection router epoll
WRK_HEADERS=()
