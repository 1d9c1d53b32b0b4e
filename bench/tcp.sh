#!/usr/bin/env bash
# host_port TCP relay vs HAProxy 2.6 in mode tcp (issue 3): throughput on one stream and connection rate,
# each proxy pinned to CPU 0 with the load tool and the sink on CPU 1, alternating runs. A third relay, the probe
# `ceiling epoll-relay` (bench/Ceiling: the same relay on Linux's system calls with one epoll thread, without .NET's
# socket engine and without the router's limits, timeouts and metrics), shows how much of the gap is that engine.
source "$(dirname "$0")/lib.sh"
TCPBENCH_DLL="$ROOT/bench/TcpBench/bin/Release/net10.0/tcpbench.dll"
CEILING_DLL="$ROOT/bench/Ceiling/bin/Release/net10.0/ceiling.dll"
ROUNDS="${BENCH_TCP_ROUNDS:-3}"
SECONDS_PER_RUN="${BENCH_TCP_SECONDS:-5}"
echo "== TCP relay: router host_port vs HAProxy mode tcp ($ROUNDS rounds of ${SECONDS_PER_RUN}s)"

free_port sink; free_port router_port; free_port haproxy_port; free_port epoll_port; free_port http; free_port admin
taskset -c "$LOAD_CPU" dotnet "$TCPBENCH_DLL" server "$sink" >"$OUT/tcpbench-server.log" 2>&1 &
track $!
wait_tcp "$sink"

start_etcd
etcdput /services/blob/scheme tcp
etcdput /services/blob/hosts/1 "127.0.0.1:$sink"
etcdput /services/blob/host_port "$router_port"
start_router tcp "$http" "$admin"
wait_tcp "$router_port"

dir="$(mktemp -d)"; _tmpdirs+=("$dir")
cat >"$dir/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 8000
defaults
  mode tcp
  timeout connect 3s
  timeout client 60s
  timeout server 60s
frontend blob
  bind 127.0.0.1:$haproxy_port
  default_backend blob
backend blob
  server s1 127.0.0.1:$sink
CONF
taskset -c "$PROXY_CPU" haproxy -db -f "$dir/haproxy.cfg" >"$OUT/haproxy-tcp.log" 2>&1 &
track $!
HAPROXY_PID=$!
wait_tcp "$haproxy_port"
taskset -c "$PROXY_CPU" dotnet "$CEILING_DLL" epoll-relay "$epoll_port" "$sink" >"$OUT/ceiling-epoll-relay.log" 2>&1 &
track $!
EPOLL_PID=$!
wait_tcp "$epoll_port"

tool() { taskset -c "$LOAD_CPU" dotnet "$TCPBENCH_DLL" "$@"; }
# measure NAME PID PORT MODE ARG: prints "figure per_cpu_second user_us kernel_us" (CPU per unit of the figure,
# split into user space and kernel: per connection for connrate).
measure() {
  local before after sys_before sys_after figure
  before="$(cpu_ticks "$2")"; sys_before="$(sys_ticks "$2")"
  figure="$(tool "$4" "$3" "$SECONDS_PER_RUN" "$5")"
  after="$(cpu_ticks "$2")"; sys_after="$(sys_ticks "$2")"
  awk -v f="$figure" -v t=$((after - before)) -v k=$((sys_after - sys_before)) -v tck="$CLK_TCK" -v s="$SECONDS_PER_RUN" \
    'BEGIN { cpu = t / tck; sys = k / tck; n = f * s
             printf "%.0f %.0f %.1f %.1f\n", f, (cpu > 0 ? n / cpu : 0), (n > 0 ? (cpu - sys) * 1e6 / n : 0), (n > 0 ? sys * 1e6 / n : 0) }'
}

# Warm-up: the router's JIT tiering (dynamic PGO) takes seconds of load per path — perf showed the JIT
# still at 6 % of its CPU 5 s into the connection load — while HAProxy needs none.
tool throughput "$router_port" 5 1 >/dev/null; tool throughput "$haproxy_port" 2 1 >/dev/null
tool connrate "$router_port" 15 16 >/dev/null; tool connrate "$haproxy_port" 2 16 >/dev/null
tool throughput "$epoll_port" 5 1 >/dev/null; tool connrate "$epoll_port" 15 16 >/dev/null

: >"$OUT/tcp-runs.txt"
for round in $(seq 1 "$ROUNDS"); do
  wait_quiet
  for proxy in router haproxy epoll; do
    case "$proxy" in
      router) pid=$ROUTER_PID; port=$router_port ;;
      haproxy) pid=$HAPROXY_PID; port=$haproxy_port ;;
      epoll) pid=$EPOLL_PID; port=$epoll_port ;;
    esac
    read -r bps bps_cpu _ _ < <(measure "$proxy" "$pid" "$port" throughput 1)
    read -r cps cps_cpu conn_user_us conn_kernel_us < <(measure "$proxy" "$pid" "$port" connrate 16)
    echo "$round $proxy $bps $bps_cpu $cps $cps_cpu $conn_user_us $conn_kernel_us" | tee -a "$OUT/tcp-runs.txt"
  done
done

col() { awk -v p="$1" -v c="$2" '$2 == p { print $c }' "$OUT/tcp-runs.txt" | median; }
r_bps=$(col router 3); h_bps=$(col haproxy 3); r_cps=$(col router 5); h_cps=$(col haproxy 5)
r_bpc=$(col router 4); h_bpc=$(col haproxy 4); r_cpc=$(col router 6); h_cpc=$(col haproxy 6)
result tcp_router_mib_s "$(awk -v v="$r_bps" 'BEGIN { printf "%.0f", v / 1048576 }')"
result tcp_haproxy_mib_s "$(awk -v v="$h_bps" 'BEGIN { printf "%.0f", v / 1048576 }')"
result tcp_router_vs_haproxy_throughput "$(ratio "$r_bps" "$h_bps")"
result tcp_router_vs_haproxy_throughput_per_cpu "$(ratio "$r_bpc" "$h_bpc")"
result tcp_router_conn_s "$r_cps"
result tcp_haproxy_conn_s "$h_cps"
result tcp_router_vs_haproxy_conn_rate "$(ratio "$r_cps" "$h_cps")"
result tcp_router_conn_per_cpu_s "$r_cpc"
result tcp_haproxy_conn_per_cpu_s "$h_cpc"
result tcp_router_vs_haproxy_conn_per_cpu "$(ratio "$r_cpc" "$h_cpc")"
result tcp_router_conn_user_us "$(col router 7)"
result tcp_router_conn_kernel_us "$(col router 8)"
result tcp_haproxy_conn_user_us "$(col haproxy 7)"
result tcp_haproxy_conn_kernel_us "$(col haproxy 8)"
result tcp_epoll_probe_conn_per_cpu_s "$(col epoll 6)"
result tcp_epoll_probe_vs_haproxy_conn_per_cpu "$(ratio "$(col epoll 6)" "$h_cpc")"
result tcp_epoll_probe_conn_user_us "$(col epoll 7)"
result tcp_epoll_probe_conn_kernel_us "$(col epoll 8)"
result tcp_epoll_probe_vs_haproxy_throughput_per_cpu "$(ratio "$(col epoll 4)" "$h_bpc")"
