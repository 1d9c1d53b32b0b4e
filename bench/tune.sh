#!/usr/bin/env bash
# Settings that need no code change, each measured against HAProxy in alternating runs (the same load as
# http.sh). Each variant is a fresh router process with that environment.
#   BENCH_TUNE_ROUNDS (2)  BENCH_SECONDS (8)  BENCH_WARMUP (3)
source "$(dirname "$0")/lib.sh"

ROUNDS="${BENCH_TUNE_ROUNDS:-2}"
SECONDS_PER_RUN="${BENCH_SECONDS:-8}"
WARMUP="${BENCH_WARMUP:-3}"
INLINE=DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1
variants=(
  "defaults|"
  "inline completions|$INLINE"
  "inline + no thread-pool spin|$INLINE DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0"
  "inline + gen0 64 MB|$INLINE DOTNET_GCgen0size=0x4000000"
  "inline + no ReadyToRun (all JIT, PGO)|$INLINE DOTNET_ReadyToRun=0"
  "inline + W^X off|$INLINE DOTNET_EnableWriteXorExecute=0"
  "server GC|DOTNET_gcServer=1"
  "inline + spin 0 + gen0 64 MB + W^X off|$INLINE DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 DOTNET_GCgen0size=0x4000000 DOTNET_EnableWriteXorExecute=0"
)
[ -n "${BENCH_TUNE_ONLY:-}" ] && variants=("custom|$BENCH_TUNE_ONLY")

echo "== Tuning without code changes (wrk -t1 -c$WRK_CONNECTIONS -d${SECONDS_PER_RUN}s, $ROUNDS rounds each, against HAProxy)"
start_etcd
free_port backend; free_port hap
etcdput /services/web/scheme http
etcdput /services/web/hosts/1 "127.0.0.1:$backend"
start_nginx "$backend"
start_haproxy "$hap" "$backend"
wrk_run "http://127.0.0.1:$hap/" "$WARMUP" >/dev/null
: >"$OUT/tune-runs.txt"
i=0
for variant in "${variants[@]}"; do
  i=$((i + 1))
  label="${variant%%|*}"; envs="${variant#*|}"
  free_port http; free_port admin
  # shellcheck disable=SC2086 # a list of VAR=VALUE words
  start_router "tune$i" "$http" "$admin" $envs
  wrk_run "http://127.0.0.1:$http/" 10 >/dev/null
  for round in $(seq 1 "$ROUNDS"); do
    for who in router haproxy; do
      [ "$who" = router ] && url="http://127.0.0.1:$http/" p=$ROUTER_PID || { url="http://127.0.0.1:$hap/"; p=$HAPROXY_PID; }
      wait_quiet
      wrk_run "$url" "$WARMUP" >/dev/null
      read -r rps p50 p99 n cpu err _ < <(wrk_run "$url" "$SECONDS_PER_RUN" "$p")
      echo "$i $who $rps $(awk -v n="$n" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? n / c : 0) }') $p50 $p99 $err $OTHERS_BUSY" >>"$OUT/tune-runs.txt"
    done
  done
  stop_pid "$ROUTER_PID"
  m() { awk -v i="$i" -v w="$1" -v c="$2" '$1 == i && $2 == w { print $c }' "$OUT/tune-runs.txt" | median; }
  printf '  %-40s router %6s req/s %6s req/cpu-s p99 %6s ms | HAProxy %6s req/s %6s req/cpu-s | ratio rps %s, per CPU %s\n' \
    "$label" "$(m router 3)" "$(m router 4)" "$(m router 6)" "$(m haproxy 3)" "$(m haproxy 4)" \
    "$(ratio "$(m router 3)" "$(m haproxy 3)")" "$(ratio "$(m router 4)" "$(m haproxy 4)")"
  result "tune_${i}_vs_haproxy_rps" "$(ratio "$(m router 3)" "$(m haproxy 3)")" >/dev/null
  result "tune_${i}_vs_haproxy_req_per_cpu_s" "$(ratio "$(m router 4)" "$(m haproxy 4)")" >/dev/null
  result "tune_${i}_env" "\"$envs\"" >/dev/null
done
