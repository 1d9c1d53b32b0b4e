#!/usr/bin/env bash
# HTTP keep-alive: the router as shipped (requests without a body on its direct HTTP/1.1 path) and with
# --http-forwarder yarp (every request through YARP), against HAProxy 2.6 (nbthread 1); each proxy pinned to
# CPU 0, nginx and wrk on CPU 1; runs alternate. nginx hit directly is the ceiling.
#   BENCH_ROUNDS (3)  BENCH_SECONDS (10)  BENCH_WARMUP (3)  BENCH_CONNECTIONS (32, wrk's -c)  BENCH_SECOND_ENV ("VAR=VALUE ..." for the second router)
#   BENCH_SECOND_DLL (another build for the second router, a router.dll or a native binary: an A/B of two builds)
source "$(dirname "$0")/lib.sh"

ROUNDS="${BENCH_ROUNDS:-3}"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
WARMUP="${BENCH_WARMUP:-3}"
SECOND_ENV="${BENCH_SECOND_ENV:-ROUTER_HTTP_FORWARDER=yarp}"

echo "== HTTP keep-alive (wrk -t1 -c$WRK_CONNECTIONS -d${SECONDS_PER_RUN}s, $ROUNDS rounds, proxies on CPU $PROXY_CPU, nginx and wrk on CPU $LOAD_CPU)"
start_etcd
free_port backend; free_port hap; free_port r1; free_port a1; free_port r2; free_port a2
etcdput /services/web/scheme http
etcdput /services/web/hosts/1 "127.0.0.1:$backend"
start_nginx "$backend"
start_haproxy "$hap" "$backend"
start_router default "$r1" "$a1"
pid_default=$ROUTER_PID
# shellcheck disable=SC2086 # the environment is a list of VAR=VALUE words
START_ROUTER_DLL="${BENCH_SECOND_DLL:-}" start_router second "$r2" "$a2" $SECOND_ENV
pid_second=$ROUTER_PID

for url in "http://127.0.0.1:$r1/" "http://127.0.0.1:$r2/" "http://127.0.0.1:$hap/"; do
  code="$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: web.bench' "$url")"
  [ "$code" = 200 ] || { echo "$url answered $code, not 200" >&2; exit 1; }
done

# JIT tiering (dynamic PGO) and connection pools settle in the first seconds; HAProxy needs little.
wrk_run "http://127.0.0.1:$r1/" 20 >/dev/null
wrk_run "http://127.0.0.1:$r2/" 20 >/dev/null
wrk_run "http://127.0.0.1:$hap/" "$WARMUP" >/dev/null

wait_quiet
wrk_run "http://127.0.0.1:$backend/" "$WARMUP" >/dev/null
read -r n_rps n_p50 n_p99 _ _ _ _ < <(wrk_run "http://127.0.0.1:$backend/" "$SECONDS_PER_RUN")
printf '  %-14s %8s req/s  p50 %7s ms  p99 %7s ms\n' "nginx direct" "$n_rps" "$n_p50" "$n_p99"

declare -A url=([router]="http://127.0.0.1:$r1/" [router-yarp]="http://127.0.0.1:$r2/" [haproxy]="http://127.0.0.1:$hap/")
declare -A pid=([router]=$pid_default [router-yarp]=$pid_second [haproxy]=$HAPROXY_PID)
# rounds FILE: ROUNDS alternating rounds of every proxy, one line per run in FILE (wrk's options: WRK_HEADERS).
rounds() {
  local file="$1" round who rps p50 p99 n cpu err sys per_cpu usr_us sys_us
  : >"$file"
  for round in $(seq 1 "$ROUNDS"); do
    for who in router router-yarp haproxy; do
      wait_quiet
      wrk_run "${url[$who]}" "$WARMUP" >/dev/null
      read -r rps p50 p99 n cpu err sys < <(wrk_run "${url[$who]}" "$SECONDS_PER_RUN" "${pid[$who]}")
      per_cpu="$(awk -v n="$n" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? n / c : 0) }')"
      # CPU per request, split into user space and kernel (µs).
      usr_us="$(awk -v n="$n" -v c="$cpu" -v s="$sys" 'BEGIN { printf "%.1f", (n > 0 ? (c - s) * 1e6 / n : 0) }')"
      sys_us="$(awk -v n="$n" -v s="$sys" 'BEGIN { printf "%.1f", (n > 0 ? s * 1e6 / n : 0) }')"
      echo "$who $rps $per_cpu $p50 $p99 $cpu $err $OTHERS_BUSY $usr_us $sys_us" >>"$file"
      printf '  round %d %-12s %8s req/s  %8s req/cpu-s  user %5s + kernel %5s µs/req  p50 %6s ms  p99 %7s ms  errors %s  others busy %s%%\n' \
        "$round" "$who" "$rps" "$per_cpu" "$usr_us" "$sys_us" "$p50" "$p99" "$err" "$OTHERS_BUSY"
    done
  done
}
rounds "$OUT/http-runs.txt"

# A new connection per request (Connection: close from the client), as a container calling web.local without
# keep-alive: the accept, the request and the close, per CPU-second. The backend side stays pooled in all.
# The second router (YARP, or BENCH_SECOND_DLL's build) runs too: connection set-up is where builds differ most.
echo "== HTTP with a new connection per request (wrk -H 'Connection: close', $ROUNDS rounds)"
WRK_HEADERS=(-H 'Connection: close')
# Accepting and closing is code the keep-alive rounds did not run: it settles as the keep-alive path did above.
wrk_run "http://127.0.0.1:$r1/" 10 >/dev/null
wrk_run "http://127.0.0.1:$r2/" 10 >/dev/null
rounds "$OUT/http-close-runs.txt"
WRK_HEADERS=()
close_col() { awk -v w="$1" -v c="$2" '$1 == w { print $c }' "$OUT/http-close-runs.txt" | median; }
for who in router router-yarp haproxy; do
  key="http_close_${who//-/_}"
  result "${key}_rps" "$(close_col "$who" 2)"
  result "${key}_req_per_cpu_s" "$(close_col "$who" 3)"
  result "${key}_p99_ms" "$(close_col "$who" 5)"
  result "${key}_errors" "$(close_col "$who" 7)"
done
result http_close_router_vs_haproxy_req_per_cpu_s "$(ratio "$(close_col router 3)" "$(close_col haproxy 3)")"
result http_close_router_yarp_vs_haproxy_req_per_cpu_s "$(ratio "$(close_col router-yarp 3)" "$(close_col haproxy 3)")"

col() { awk -v w="$1" -v c="$2" '$1 == w { print $c }' "$OUT/http-runs.txt" | median; }
result http_nginx_direct_rps "$n_rps"
for who in router router-yarp haproxy; do
  key="http_${who//-/_}"
  result "${key}_rps" "$(col "$who" 2)"
  result "${key}_req_per_cpu_s" "$(col "$who" 3)"
  result "${key}_p50_ms" "$(col "$who" 4)"
  result "${key}_p99_ms" "$(col "$who" 5)"
  result "${key}_user_us_per_req" "$(col "$who" 9)"
  result "${key}_kernel_us_per_req" "$(col "$who" 10)"
done
for who in router router-yarp; do
  key="http_${who//-/_}"
  result "${key}_vs_haproxy_rps" "$(ratio "$(col "$who" 2)" "$(col haproxy 2)")"
  result "${key}_vs_haproxy_req_per_cpu_s" "$(ratio "$(col "$who" 3)" "$(col haproxy 3)")"
  result "${key}_vs_haproxy_p99" "$(ratio "$(col "$who" 5)" "$(col haproxy 5)")"
done
result http_haproxy_vs_nginx_direct "$(ratio "$(col haproxy 2)" "$n_rps")"
result http_second_env "\"$SECOND_ENV\""
result http_second_dll "\"${BENCH_SECOND_DLL:-}\""
