#!/usr/bin/env bash
# TLS (issue 18 §5): new TLS connections (a full handshake each) and keep-alive HTTPS requests per CPU-second
# of the proxy, the router terminating TLS vs HAProxy (bind … ssl crt) on the same certificate, ECDSA P-256
# and RSA 2048; and TLS passthrough (scheme tls, relayed by SNI) vs HAProxy mode tcp with req_ssl_sni, to an
# nginx that terminates. Each proxy pinned to CPU 0, nginx and wrk on CPU 1; runs alternate.
# A "handshake" run is wrk with "Connection: close": every request opens a new TCP + TLS connection (wrk
# resumes no sessions), so requests per CPU-second there are full handshakes per CPU-second.
#   BENCH_ROUNDS (3)  BENCH_SECONDS (10)  BENCH_WARMUP (3)
source "$(dirname "$0")/lib.sh"

ROUNDS="${BENCH_ROUNDS:-3}"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
WARMUP="${BENCH_WARMUP:-3}"

echo "== TLS (wrk -t1 -c32 -d${SECONDS_PER_RUN}s, $ROUNDS rounds, proxies on CPU $PROXY_CPU, nginx and wrk on CPU $LOAD_CPU)"
dir="$(mktemp -d)"; _tmpdirs+=("$dir")

# One certificate per key type for localhost (the passthrough service's SNI name: it resolves to 127.0.0.1
# for wrk, which sends the URL's host as SNI) and *.bench; the router reads NAME.crt + NAME.key, HAProxy one PEM.
for kind in ecdsa rsa; do
  mkdir -p "$dir/$kind"
  if [ "$kind" = ecdsa ]; then key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256); else key=(-newkey rsa:2048); fi
  openssl req -x509 "${key[@]}" -nodes -days 2 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,DNS:*.bench" \
    -keyout "$dir/$kind/site.key" -out "$dir/$kind/site.crt" 2>/dev/null
  cat "$dir/$kind/site.crt" "$dir/$kind/site.key" >"$dir/$kind.pem"
done

start_etcd
free_port backend; free_port backend_tls
free_port hap_ecdsa; free_port hap_rsa; free_port hap_tcp
free_port r_ecdsa; free_port a_ecdsa; free_port s_ecdsa; free_port r_rsa; free_port a_rsa; free_port s_rsa
etcdput /services/web/scheme http
etcdput /services/web/hosts/1 "127.0.0.1:$backend"
etcdput /services/localhost/scheme tls
etcdput /services/localhost/hosts/1 "127.0.0.1:$backend_tls"

# nginx: plain HTTP for the terminating proxies, HTTPS (the RSA certificate) for the passthrough relays.
ndir="$(mktemp -d)"; _tmpdirs+=("$ndir")
cat >"$ndir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $ndir/nginx.pid;
error_log $OUT/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $ndir/body;
  proxy_temp_path $ndir/proxy;
  fastcgi_temp_path $ndir/fastcgi;
  uwsgi_temp_path $ndir/uwsgi;
  scgi_temp_path $ndir/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$backend;
    listen 127.0.0.1:$backend_tls ssl;
    ssl_certificate $dir/rsa/site.crt;
    ssl_certificate_key $dir/rsa/site.key;
    ssl_session_cache off;
    ssl_session_tickets off;
    location / { default_type text/plain; return 200 "hello from nginx\n"; }
  }
}
CONF
taskset -c "$LOAD_CPU" nginx -c "$ndir/nginx.conf" &
track $!
wait_tcp "$backend"; wait_tcp "$backend_tls"

# HAProxy 2.6, one thread: terminating on each key type, and mode tcp routed by req_ssl_sni.
hap() { # NAME CONFIG-BODY
  printf 'global\n  nbthread 1\n  maxconn 4096\n  tune.ssl.cachesize 0\ndefaults\n  timeout connect 3s\n  timeout client 60s\n  timeout server 60s\n  timeout http-keep-alive 60s\n%s\n' "$2" >"$dir/$1.cfg"
  taskset -c "$PROXY_CPU" haproxy -db -f "$dir/$1.cfg" >"$OUT/haproxy-$1.log" 2>&1 &
  track $!
}
for kind in ecdsa rsa; do
  port_var="hap_$kind"
  hap "$kind" "frontend https
  mode http
  option http-keep-alive
  bind 127.0.0.1:${!port_var} ssl crt $dir/$kind.pem
  default_backend web
backend web
  mode http
  http-reuse always
  option forwardfor
  server web1 127.0.0.1:$backend"
  declare "pid_hap_$kind=$!"
done
hap tcp "frontend tls
  mode tcp
  bind 127.0.0.1:$hap_tcp
  tcp-request inspect-delay 5s
  tcp-request content accept if { req_ssl_hello_type 1 }
  use_backend mq if { req_ssl_sni -i localhost }
backend mq
  mode tcp
  server mq1 127.0.0.1:$backend_tls"
pid_hap_tcp=$!
for p in "$hap_ecdsa" "$hap_rsa" "$hap_tcp"; do wait_tcp "$p"; done

start_router ecdsa "$r_ecdsa" "$a_ecdsa" ROUTER_HTTPS="127.0.0.1:$s_ecdsa" ROUTER_CERTS="$dir/ecdsa"
pid_r_ecdsa=$ROUTER_PID
start_router rsa "$r_rsa" "$a_rsa" ROUTER_HTTPS="127.0.0.1:$s_rsa" ROUTER_CERTS="$dir/rsa"
pid_r_rsa=$ROUTER_PID

# tls_run URL SECONDS PID close|keep: like wrk_run, "close" sends Connection: close (a new connection per request).
tls_run() {
  local url="$1" seconds="$2" pid="$3" mode="$4" before after text extra=()
  [ "$mode" = close ] && extra=(-H 'Connection: close')
  before="$(cpu_ticks "$pid")"
  text="$(taskset -c "$LOAD_CPU" wrk -t1 -c32 -d"${seconds}s" --latency -H 'Host: web.bench' "${extra[@]}" "$url")"
  after="$(cpu_ticks "$pid")"
  echo "$text" >>"$OUT/wrk-tls.log"
  awk -v cpu="$(( after - before ))" -v tck="$CLK_TCK" '
    /requests in/ { n = $1 } /Requests\/sec/ { rps = $2 }
    /Non-2xx/ { err += $NF } /Socket errors/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
    END { c = cpu / tck; printf "%.0f %.0f %.2f %d\n", rps, (c > 0 ? n / c : 0), c, err + 0 }' <<<"$text"
}

# Every path answers 200 before anything is measured.
for url in "https://127.0.0.1:$s_ecdsa/" "https://127.0.0.1:$s_rsa/" "https://127.0.0.1:$hap_ecdsa/" "https://127.0.0.1:$hap_rsa/" \
           "https://localhost:$s_ecdsa/" "https://localhost:$hap_tcp/"; do
  code="$(curl -sk -o /dev/null -w '%{http_code}' -H 'Host: web.bench' "$url")"
  [ "$code" = 200 ] || { echo "$url answered $code, not 200" >&2; exit 1; }
done
# The passthrough really reaches nginx's TLS: nginx serves the RSA certificate, the router here the ECDSA one.
for port in "$s_ecdsa" "$hap_tcp"; do
  echo | openssl s_client -connect "127.0.0.1:$port" -servername localhost 2>/dev/null | openssl x509 -noout -text | grep -q rsaEncryption \
    || { echo "TLS to localhost on port $port did not reach nginx untouched" >&2; exit 1; }
done

declare -A url=(
  [router-ecdsa]="https://127.0.0.1:$s_ecdsa/" [haproxy-ecdsa]="https://127.0.0.1:$hap_ecdsa/"
  [router-rsa]="https://127.0.0.1:$s_rsa/" [haproxy-rsa]="https://127.0.0.1:$hap_rsa/"
  [router-pass]="https://localhost:$s_ecdsa/" [haproxy-pass]="https://localhost:$hap_tcp/")
declare -A pid=(
  [router-ecdsa]=$pid_r_ecdsa [haproxy-ecdsa]=$pid_hap_ecdsa [router-rsa]=$pid_r_rsa [haproxy-rsa]=$pid_hap_rsa
  [router-pass]=$pid_r_ecdsa [haproxy-pass]=$pid_hap_tcp)
whos=(router-ecdsa haproxy-ecdsa router-rsa haproxy-rsa router-pass haproxy-pass)

# JIT tiering settles in the first seconds.
for who in router-ecdsa router-rsa router-pass; do tls_run "${url[$who]}" 15 "${pid[$who]}" keep >/dev/null; done

: >"$OUT/tls-runs.txt"
for round in $(seq 1 "$ROUNDS"); do
  for mode in close keep; do
    for who in "${whos[@]}"; do
      wait_quiet
      tls_run "${url[$who]}" "$WARMUP" "${pid[$who]}" "$mode" >/dev/null
      read -r rps per_cpu cpu err < <(tls_run "${url[$who]}" "$SECONDS_PER_RUN" "${pid[$who]}" "$mode")
      echo "$who $mode $rps $per_cpu $cpu $err $OTHERS_BUSY" >>"$OUT/tls-runs.txt"
      printf '  round %d %-14s %-5s %8s req/s  %8s req/cpu-s  cpu %6s s  errors %s  others busy %s%%\n' \
        "$round" "$who" "$mode" "$rps" "$per_cpu" "$cpu" "$err" "$OTHERS_BUSY"
    done
  done
done

col() { awk -v w="$1" -v m="$2" -v c="$3" '$1 == w && $2 == m { print $c }' "$OUT/tls-runs.txt" | median; }
for who in "${whos[@]}"; do
  key="tls_${who//-/_}"
  result "${key}_handshakes_per_cpu_s" "$(col "$who" close 4)"
  result "${key}_handshakes_per_s" "$(col "$who" close 3)"
  result "${key}_keepalive_req_per_cpu_s" "$(col "$who" keep 4)"
  result "${key}_keepalive_req_per_s" "$(col "$who" keep 3)"
done
for kind in ecdsa rsa pass; do
  result "tls_${kind}_router_vs_haproxy_handshakes_per_cpu_s" "$(ratio "$(col "router-$kind" close 4)" "$(col "haproxy-$kind" close 4)")"
  result "tls_${kind}_router_vs_haproxy_keepalive_per_cpu_s" "$(ratio "$(col "router-$kind" keep 4)" "$(col "haproxy-$kind" keep 4)")"
done
