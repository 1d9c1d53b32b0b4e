#!/usr/bin/env bash
# Where the router's CPU goes under the HTTP keep-alive load: perf (with the runtime's perf map, so JIT-ed
# frames have names) and dotnet-counters (GC and allocation rate). Output in $OUT/profile-*.txt.
#   BENCH_PROFILE_ENV: extra environment for the router (the default repeats what it sets itself)
#   BENCH_PROFILE_CLOSE=1: a new connection per request (wrk -H 'Connection: close') instead of keep-alive
#   BENCH_PROFILE_TCP=1: the TCP host_port relay under tcpbench connrate (connect, 1-byte echo, close) instead of HTTP
source "$(dirname "$0")/lib.sh"

TCP_MODE="${BENCH_PROFILE_TCP:-0}"
ENVS="${BENCH_PROFILE_ENV:-DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0}"
echo "== Profile of the router under wrk -t1 -c32 ($ENVS)"
command -v perf >/dev/null || { echo "perf is missing (Debian: linux-perf)" >&2; exit 1; }
tools="$HOME/.dotnet/tools"
[ -x "$tools/dotnet-counters" ] || dotnet tool install -g dotnet-counters >/dev/null
start_etcd
free_port backend; free_port http; free_port admin; free_port relay
if [ "$TCP_MODE" = 1 ]; then
  TCPBENCH_DLL="$ROOT/bench/TcpBench/bin/Release/net10.0/tcpbench.dll"
  taskset -c "$LOAD_CPU" dotnet "$TCPBENCH_DLL" server "$backend" >"$OUT/tcpbench-server.log" 2>&1 &
  track $!
  wait_tcp "$backend"
  etcdput /services/web/scheme tcp
  etcdput /services/web/host_port "$relay"
else
  etcdput /services/web/scheme http
  start_nginx "$backend"
fi
etcdput /services/web/hosts/1 "127.0.0.1:$backend"
# shellcheck disable=SC2086
# W^X off: with it on, JIT-ed code runs from a double-mapped memfd that perf cannot match to the perf map.
start_router profile "$http" "$admin" $ENVS DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
pid=$ROUTER_PID
if [ "$TCP_MODE" = 1 ]; then
  wait_tcp "$relay"
  taskset -c "$LOAD_CPU" dotnet "$TCPBENCH_DLL" connrate "$relay" 15 16 >/dev/null
  wait_quiet
  taskset -c "$LOAD_CPU" dotnet "$TCPBENCH_DLL" connrate "$relay" 25 16 >"$OUT/profile-wrk.txt" &
else
  wrk_run "http://127.0.0.1:$http/" 10 >/dev/null
  wait_quiet
  close=()
  [ "${BENCH_PROFILE_CLOSE:-0}" = 1 ] && close=(-H 'Connection: close')
  taskset -c "$LOAD_CPU" wrk -t1 -c32 -d25s -H 'Host: web.bench' "${close[@]}" "http://127.0.0.1:$http/" >"$OUT/profile-wrk.txt" &
fi
wrk_pid=$!; track "$wrk_pid"
sleep 2
perf record -q -F 999 -g -p "$pid" -o "$OUT/perf.data" -- sleep 8 2>/dev/null
"$tools/dotnet-counters" collect -p "$pid" --format csv -o "$OUT/profile-counters.csv" \
  --counters System.Runtime,Microsoft.AspNetCore.Hosting --duration 00:00:00:08 >/dev/null 2>&1 || true
wait "$wrk_pid" || true

perf report -i "$OUT/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25 >"$OUT/profile-dso.txt" || true
perf report -i "$OUT/perf.data" --no-children --sort sym --stdio -g none --percent-limit 0.4 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | head -80 >"$OUT/profile-symbols.txt" || true
perf report -i "$OUT/perf.data" --children --sort sym --stdio -g none --percent-limit 2 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | head -80 >"$OUT/profile-inclusive.txt" || true
echo "  by library:"; sed 's/^/    /' "$OUT/profile-dso.txt" | head -12
echo "  top functions (self):"; sed 's/^/    /' "$OUT/profile-symbols.txt" | head -30
if [ "$TCP_MODE" = 1 ]; then
  sed 's/^/  under profile, connections per second: /' "$OUT/profile-wrk.txt"
else
  grep -a 'Requests/sec' "$OUT/profile-wrk.txt" | sed 's/^/  under profile: /'
fi
