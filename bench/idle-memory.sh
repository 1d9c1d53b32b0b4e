#!/usr/bin/env bash
# Memory per idle connection (issue 14 §2): N idle TCP relays and N idle keep-alive HTTP connections held
# open through the router and through HAProxy 2.6 (mode tcp / mode http) on loopback; the growth of each
# proxy's RSS divided by N, side by side, and the router's RSS again once the connections have closed.
#   bench/idle-memory.sh            N=2000
#   BENCH_IDLE_N=5000 bench/idle-memory.sh
#   BENCH_IDLE_ROUTER_ENV="ROUTER_HTTP_TRANSPORT=sockets" bench/idle-memory.sh   (the router with other settings)
source "$(dirname "$0")/lib.sh"
N="${BENCH_IDLE_N:-2000}"
SETTLE="${BENCH_IDLE_SETTLE:-3}"
echo "== Idle connections: $N TCP relays and $N keep-alive HTTP connections, router vs HAProxy"

dir="$(mktemp -d)"; _tmpdirs+=("$dir")

# A TCP sink that accepts and holds every connection, and the client that opens N connections and holds
# them (for HTTP after one request each) until its stdin closes.
cat >"$dir/idle.py" <<'PY'
import asyncio, sys

async def sink(port):
    async def hold(reader, writer):
        while await reader.read(65536):
            pass
        writer.close()
    server = await asyncio.start_server(hold, "127.0.0.1", port, backlog=4096)
    print("ready", flush=True)
    await server.serve_forever()

async def clients(port, mode, n, host):
    conns = []
    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        if mode == "http":
            writer.write(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"unexpected answer: {head[:40]!r}")
        conns.append(writer)
    for start in range(0, n, 100):
        await asyncio.gather(*(one() for _ in range(min(100, n - start))))
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for w in conns:
        w.close()

if sys.argv[1] == "sink":
    asyncio.run(sink(int(sys.argv[2])))
else:
    asyncio.run(clients(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]))
PY

free_port sink; free_port backend; free_port http; free_port admin; free_port tcp_port
free_port hap_http; free_port hap_tcp
ulimit -n 65536 2>/dev/null || true
taskset -c "$LOAD_CPU" python3 "$dir/idle.py" sink "$sink" >"$OUT/idle-sink.log" 2>&1 &
track $!
start_nginx "$backend"
wait_tcp "$sink"

start_etcd
etcdput /services/blob/scheme tcp
etcdput /services/blob/hosts/1 "127.0.0.1:$sink"
etcdput /services/blob/host_port "$tcp_port"
etcdput /services/web/scheme http
etcdput /services/web/hosts/1 "127.0.0.1:$backend"
# shellcheck disable=SC2086 # the environment is a list of VAR=VALUE words
start_router idle "$http" "$admin" ${BENCH_IDLE_ROUTER_ENV:-}
wait_tcp "$tcp_port"

cat >"$dir/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn $((4 * N + 100))
defaults
  timeout connect 3s
  timeout client 120s
  timeout server 120s
  timeout http-keep-alive 120s
frontend http
  mode http
  bind 127.0.0.1:$hap_http
  default_backend web
backend web
  mode http
  http-reuse always
  server web1 127.0.0.1:$backend
frontend tcp
  mode tcp
  bind 127.0.0.1:$hap_tcp
  default_backend blob
backend blob
  mode tcp
  server s1 127.0.0.1:$sink
CONF
taskset -c "$PROXY_CPU" haproxy -db -f "$dir/haproxy.cfg" >"$OUT/haproxy-idle.log" 2>&1 &
track $!
HAPROXY_PID=$!
wait_tcp "$hap_http"

# held PID PORT MODE: RSS growth in KB per connection while N connections are held open.
held() {
  local pid="$1" port="$2" mode="$3" before after fifo holder
  # Warm up: one connection of this kind first, so the figure is per connection, not first-use cost.
  echo | python3 "$dir/idle.py" clients "$port" "$mode" 1 web.local >/dev/null
  sleep "$SETTLE"
  before="$(rss_kb "$pid")"
  fifo="$dir/hold-$mode-$port"; mkfifo "$fifo"
  taskset -c "$LOAD_CPU" python3 "$dir/idle.py" clients "$port" "$mode" "$N" web.local <"$fifo" >"$fifo.out" 2>&1 &
  holder=$!
  exec 9>"$fifo"
  for _ in $(seq 1 600); do grep -q ready "$fifo.out" 2>/dev/null && break; kill -0 "$holder" 2>/dev/null || break; sleep 0.1; done
  grep -q ready "$fifo.out" || { echo "holder failed: $(cat "$fifo.out")" >&2; exec 9>&-; return 1; }
  sleep "$SETTLE"
  after="$(rss_kb "$pid")"
  exec 9>&-
  wait "$holder" 2>/dev/null || true
  awk -v a="$after" -v b="$before" -v n="$N" 'BEGIN { printf "%.2f", (a - b) / n }'
}

router_tcp="$(held "$ROUTER_PID" "$tcp_port" tcp)"
router_http="$(held "$ROUTER_PID" "$http" http)"
closed_at="$(date +%s)"
sleep "$SETTLE"
router_peak="$(awk '/^VmHWM:/ { print $2 }' "/proc/$ROUTER_PID/status")"
router_after="$(rss_kb "$ROUTER_PID")"
haproxy_tcp="$(held "$HAPROXY_PID" "$hap_tcp" tcp)"
haproxy_http="$(held "$HAPROXY_PID" "$hap_http" http)"
# The router gives memory back once it has been quiet for a check or two (30 s apart): measure after that.
while [ $(( $(date +%s) - closed_at )) -lt "${BENCH_IDLE_QUIET_SECONDS:-75}" ]; do sleep 1; done
router_quiet="$(rss_kb "$ROUTER_PID")"

result idle_connections "$N"
result idle_tcp_relay_kb_router "$router_tcp"
result idle_tcp_relay_kb_haproxy "$haproxy_tcp"
result idle_http_conn_kb_router "$router_http"
result idle_http_conn_kb_haproxy "$haproxy_http"
result idle_router_peak_rss_mb "$(awk -v k="$router_peak" 'BEGIN { printf "%.1f", k / 1024 }')"
result idle_router_rss_after_close_mb "$(awk -v k="$router_after" 'BEGIN { printf "%.1f", k / 1024 }')"
result idle_router_rss_quiet_mb "$(awk -v k="$router_quiet" 'BEGIN { printf "%.1f", k / 1024 }')"
