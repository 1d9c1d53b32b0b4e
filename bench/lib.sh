# Shared by bench/*.sh: ports, processes started and stopped by pid, etcd, nginx, HAProxy, the router,
# wrk runs and /proc readings. Every address is on 127.0.0.1.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
OUT="${BENCH_OUT:-$ROOT/bench/results/latest}"
ROUTER_DLL="${BENCH_ROUTER_DLL:-$ROOT/src/Router/bin/Release/net10.0/router.dll}"
BENCHTOOL_DLL="${BENCH_TOOL_DLL:-$ROOT/bench/BenchTool/bin/Release/net10.0/benchtool.dll}"
PROXY_CPU="${BENCH_PROXY_CPU:-0}"
LOAD_CPU="${BENCH_LOAD_CPU:-1}"
CLK_TCK="$(getconf CLK_TCK)"
export ETCDCTL_API=3
mkdir -p "$OUT"

_pids=()
_tmpdirs=()
cleanup() {
  local pid
  for pid in "${_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for pid in "${_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for dir in "${_tmpdirs[@]}"; do rm -rf "$dir"; done
  _pids=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

track() { _pids+=("$1"); }

# Stops one process this script started, by pid.
stop_pid() {
  local pid="$1" i
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
}

# A TCP port nobody listens on now (ports are taken from a range by pid to keep parallel runs apart).
_next_port=$((20000 + ($$ % 2000) * 10))
free_port() { # VAR: sets VAR (not a subshell, so the counter moves on)
  while ss -Htan "sport = :$_next_port" | grep -q . || ss -Huan "sport = :$_next_port" | grep -q .; do
    _next_port=$((_next_port + 1))
  done
  printf -v "$1" '%s' "$_next_port"
  _next_port=$((_next_port + 1))
}

wait_http() { # URL [tries of 50 ms]
  local i
  for i in $(seq 1 "${2:-200}"); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done
  echo "no answer from $1" >&2; return 1
}

wait_tcp() { # PORT
  local i
  for i in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  echo "nothing listens on 127.0.0.1:$1" >&2; return 1
}

benchtool() { dotnet "$BENCHTOOL_DLL" "$@"; }

# start_etcd: sets ETCD_URL. Data on tmpfs: the figures are about the router, not about the disk's fsync.
start_etcd() {
  local client peer dir
  free_port client; free_port peer
  dir="$(mktemp -d /dev/shm/bench-etcd.XXXXXX 2>/dev/null || mktemp -d)"
  _tmpdirs+=("$dir")
  etcd --name bench --data-dir "$dir" \
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "bench=http://127.0.0.1:$peer" --quota-backend-bytes $((4 * 1024 * 1024 * 1024)) \
    --logger zap --log-level warn >"$OUT/etcd.log" 2>&1 &
  track $!
  ETCD_PID=$!
  ETCD_URL="http://127.0.0.1:$client"
  wait_http "$ETCD_URL/health"
}

etcdput() { etcdctl --endpoints "$ETCD_URL" put "$@" >/dev/null; }

# start_nginx PORT: one process (no master) on the load CPU, a small fixed body, no access log.
start_nginx() {
  local port="$1" dir
  dir="$(mktemp -d)"; _tmpdirs+=("$dir")
  cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $OUT/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$port;
    location / { default_type text/plain; return 200 "hello from nginx\n"; }
  }
}
CONF
  taskset -c "$LOAD_CPU" nginx -c "$dir/nginx.conf" &
  track $!
  NGINX_PID=$!
  wait_tcp "$port"
}

# haproxy_config FILE HTTP_PORT BACKEND_PORT: HAProxy 2.6 as the confd template would write it.
haproxy_config() {
  cat >"$1" <<CONF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  timeout connect 3s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
frontend http
  bind 127.0.0.1:$2
  acl host_web hdr_beg(host) -i web.
  use_backend web if host_web
backend web
  http-reuse always
  option forwardfor
  server web1 127.0.0.1:$3
CONF
}

# start_haproxy HTTP_PORT BACKEND_PORT: in the foreground, one process, on the proxy CPU.
start_haproxy() {
  local dir
  dir="$(mktemp -d)"; _tmpdirs+=("$dir")
  haproxy_config "$dir/haproxy.cfg" "$1" "$2"
  taskset -c "$PROXY_CPU" haproxy -db -f "$dir/haproxy.cfg" >"$OUT/haproxy.log" 2>&1 &
  track $!
  HAPROXY_PID=$!
  wait_tcp "$1"
}

# router_command PATH: how to run a router build: `dotnet router.dll`, or a native (ahead-of-time) binary itself.
router_command() {
  case "$1" in
    *.dll) echo dotnet "$1" ;;
    *) echo "$1" ;;
  esac
}

# The runtime settings the router's image sets (docker/router.Dockerfile), so the router here runs as shipped:
# pinned to one CPU, tiered compilation would otherwise wait ten times longer to optimise its hot methods.
ROUTER_IMAGE_ENV=(DOTNET_TC_DelaySingleProcMultiplier=1)

# start_router NAME HTTP_PORT ADMIN_PORT [VAR=VALUE…]: the router on the proxy CPU with extra environment (which
# may override ROUTER_IMAGE_ENV).
# BENCH_SECOND_DLL, read by the sections that start two routers, names the second one's build.
# BENCH_ROUTER_EXTRA adds options to its command line, for a look inside (--log-level debug).
start_router() {
  local name="$1" http="$2" admin="$3" dll="${START_ROUTER_DLL:-$ROUTER_DLL}"
  shift 3
  # shellcheck disable=SC2046,SC2086 # the command is one or two words, paths without spaces; the extra options split
  env "${ROUTER_IMAGE_ENV[@]}" "$@" taskset -c "$PROXY_CPU" $(router_command "$dll") --etcd "$ETCD_URL" --prefix /services \
    --http "127.0.0.1:$http" --admin "127.0.0.1:$admin" --dns off --tcp-bind 127.0.0.1 ${BENCH_ROUTER_EXTRA:-} \
    >"$OUT/router-$name.log" 2>&1 &
  track $!
  ROUTER_PID=$!
  wait_http "http://127.0.0.1:$admin/readyz"
}

# warm_request_paths PORT HOST: one routed request on each of the router's two HTTP/1.1 paths, as a router in
# service has served many (the first request on each compiles it: 25-40 ms on this machine, a start-up cost).
# A plain GET on a new connection is taken at the connection level; after a 404, Kestrel's HTTP layer serves
# the rest of that connection, and the GET after it goes to the backend from there.
warm_request_paths() {
  curl -s -o /dev/null -H "Host: $2" "http://127.0.0.1:$1/"
  curl -s -o /dev/null -H "Host: warm-up-unrouted.bench" "http://127.0.0.1:$1/" --next -s -o /dev/null -H "Host: $2" "http://127.0.0.1:$1/"
}

# Busy percentage of the whole machine over half a second, from /proc/stat.
busy_pct() {
  local a b
  a=($(head -1 /proc/stat)); sleep 0.5; b=($(head -1 /proc/stat))
  awk -v idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) -v all=$(( (b[1]+b[2]+b[3]+b[4]+b[5]+b[6]+b[7]+b[8]) - (a[1]+a[2]+a[3]+a[4]+a[5]+a[6]+a[7]+a[8]) )) \
    'BEGIN { printf "%.0f\n", (all > 0 ? 100 * (all - idle) / all : 0) }'
}

# Waits (up to BENCH_QUIET_WAIT seconds, 60) for the machine to be nearly idle: other work on these two
# cores (a test suite, a build) moves the figures more than anything measured here. Sets OTHERS_BUSY.
wait_quiet() {
  local deadline=$((SECONDS + ${BENCH_QUIET_WAIT:-60}))
  OTHERS_BUSY="$(busy_pct)"
  while [ "$OTHERS_BUSY" -gt "${BENCH_QUIET_PCT:-5}" ] && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 1; OTHERS_BUSY="$(busy_pct)"
  done
}

# user+system CPU ticks of a process so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# system CPU ticks of a process so far.
sys_ticks() { awk '{ print $15 }' "/proc/$1/stat"; }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# wrk_run URL SECONDS [PID]: one wrk run on the load CPU; prints "rps p50_ms p99_ms requests cpu_s errors sys_s"
# (cpu_s is user + system CPU of PID during the run, sys_s the system part). BENCH_CONNECTIONS: wrk's -c (32).
WRK_HEADERS=()
WRK_CONNECTIONS="${BENCH_CONNECTIONS:-32}"
wrk_run() {
  local url="$1" seconds="$2" pid="${3:-}" before=0 after=0 sys_before=0 sys_after=0 text
  [ -n "$pid" ] && { before="$(cpu_ticks "$pid")"; sys_before="$(sys_ticks "$pid")"; }
  # WRK_HEADERS: more -H options, e.g. (-H 'Connection: close') for a new connection per request.
  text="$(taskset -c "$LOAD_CPU" wrk -t1 -c"$WRK_CONNECTIONS" -d"${seconds}s" --latency -H 'Host: web.bench' "${WRK_HEADERS[@]}" "$url")"
  [ -n "$pid" ] && { after="$(cpu_ticks "$pid")"; sys_after="$(sys_ticks "$pid")"; }
  echo "$text" >>"$OUT/wrk.log"
  awk -v cpu="$(( after - before ))" -v sys="$(( sys_after - sys_before ))" -v tck="$CLK_TCK" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    / 50%/ { p50 = ms($2) } / 99%/ { p99 = ms($2) }
    /requests in/ { n = $1 }
    /Requests\/sec/ { rps = $2 }
    /Non-2xx/ { err += $NF } /Socket errors/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
    END { printf "%.0f %.3f %.3f %d %.2f %d %.2f\n", rps, p50, p99, n, cpu / tck, err + 0, sys / tck }' <<<"$text"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "nan" || b == "nan") print "nan"; else printf "%.2f\n", a / b }'; }

# result KEY VALUE: one figure for the summary (bench/run reads $OUT/results.txt).
result() { echo "$1=$2" >>"$OUT/results.txt"; echo "  $1 = $2"; }
