#!/usr/bin/env bash
# DNS: the router's responder (bench/dns/DnsBench, the same code the router hosts) against dnsmasq, side by
# side, each pinned to CPU 0 with dnsperf on CPU 1; local names (*.local) and relayed names (both relay to
# one upstream dnsmasq on another port, with their caches) and uncached names (each asked once, so every
# query goes upstream from a fresh random source port). Prints qps of each and the ratios.
#   BENCH_ROUNDS (2)  BENCH_SECONDS (10)  BENCH_NAMES (1000)  BENCH_MISS_NAMES (300000)
#   BENCH_DNS_KINDS ("local relayed uncached"): which sections run
source "$(dirname "$0")/../lib.sh"

ROUNDS="${BENCH_ROUNDS:-2}"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
NAMES="${BENCH_NAMES:-1000}"
MISS_NAMES="${BENCH_MISS_NAMES:-300000}"
KINDS="${BENCH_DNS_KINDS:-local relayed uncached}"
ANSWER=127.0.0.53
DNSBENCH_DLL="${BENCH_DNS_DLL:-$ROOT/bench/dns/DnsBench/bin/Release/net10.0/dnsbench.dll}"

for tool in dnsmasq dnsperf dig taskset; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "missing $tool: apt-get install -y dnsperf dnsmasq-base bind9-dnsutils" >&2; exit 1; }
done
DNSMASQ="$(command -v dnsmasq || echo /usr/sbin/dnsmasq)"
[ -f "$DNSBENCH_DLL" ] || dotnet build "$ROOT/bench/dns/DnsBench" -c Release -nologo -v q >/dev/null

wait_dns() { # PORT NAME: until the server answers NOERROR
  local i
  for i in $(seq 1 200); do
    dig @127.0.0.1 -p "$1" +tries=1 +time=1 "$2" A 2>/dev/null | grep -q 'status: NOERROR' && return 0
    sleep 0.05
  done
  echo "no DNS answer on 127.0.0.1:$1" >&2; return 1
}

# dnsperf_run PORT FILE SECONDS [PID]: prints "qps lost per_cpu_s" (answers per CPU-second of PID, which
# holds up better than qps when other work shares the machine).
dnsperf_run() {
  local text before=0 after=0
  [ -n "${4:-}" ] && before="$(cpu_ticks "$4")"
  text="$(taskset -c "$LOAD_CPU" dnsperf -s 127.0.0.1 -p "$1" -d "$2" -c 4 -q 200 -l "$3" 2>&1)"
  [ -n "${4:-}" ] && after="$(cpu_ticks "$4")"
  echo "$text" >>"$OUT/dnsperf.log"
  awk -v cpu="$(( after - before ))" -v tck="$CLK_TCK" '
    /Queries per second/ { qps = $4 } /Queries lost/ { lost = $3 } /Queries completed/ { n = $3 }
    END { printf "%.0f %d %.0f\n", qps, lost, (cpu > 0 ? n / (cpu / tck) : 0) }' <<<"$text"
}

echo "== DNS (dnsperf -c 4 -q 200 -l ${SECONDS_PER_RUN}, $ROUNDS rounds, servers on CPU $PROXY_CPU, dnsperf on CPU $LOAD_CPU)"
free_port upstream; free_port masq; free_port ours
queries_local="$OUT/dns-local.txt"; queries_relay="$OUT/dns-relay.txt"
: >"$queries_local"; : >"$queries_relay"
for i in $(seq 1 "$NAMES"); do
  echo "host$i.local A" >>"$queries_local"
  echo "host$i.relay.test A" >>"$queries_relay"
done

# The shared upstream: answers relay.test itself, with a TTL long enough that both caches keep it.
taskset -c "$LOAD_CPU" "$DNSMASQ" --no-daemon --no-resolv --no-hosts --conf-file=/dev/null --port="$upstream" \
  --listen-address=127.0.0.1 --bind-interfaces --address=/relay.test/10.1.2.3 --local-ttl=3600 \
  >"$OUT/dns-upstream.log" 2>&1 &
track $!
wait_dns "$upstream" a.relay.test

# dnsmasq as a node runs it today: address=/local/…, everything else to the upstream, a cache big enough.
taskset -c "$PROXY_CPU" "$DNSMASQ" --no-daemon --no-resolv --no-hosts --conf-file=/dev/null --port="$masq" \
  --listen-address=127.0.0.1 --bind-interfaces --address=/local/$ANSWER --server="127.0.0.1#$upstream" \
  --cache-size=10000 --dns-forward-max=1000 >"$OUT/dns-dnsmasq.log" 2>&1 &
track $!
MASQ_PID=$!
wait_dns "$masq" a.local

taskset -c "$PROXY_CPU" dotnet "$DNSBENCH_DLL" "127.0.0.1:$ours" "127.0.0.1:$upstream" local "$ANSWER" \
  >"$OUT/dns-router.log" 2>&1 &
track $!
OURS_PID=$!
wait_dns "$ours" a.local

for port in "$masq" "$ours"; do
  [ "$(dig @127.0.0.1 -p "$port" +short host1.local A)" = "$ANSWER" ] || { echo "127.0.0.1:$port: wrong local answer" >&2; exit 1; }
  [ "$(dig @127.0.0.1 -p "$port" +short host1.relay.test A)" = 10.1.2.3 ] || { echo "127.0.0.1:$port: wrong relayed answer" >&2; exit 1; }
done

# Warm up: JIT tiering for ours, and every relayed name into both caches.
for port in "$masq" "$ours"; do
  dnsperf_run "$port" "$queries_local" 3 >/dev/null
  dnsperf_run "$port" "$queries_relay" 3 >/dev/null
done

declare -A port=([dnsmasq]=$masq [router]=$ours)
declare -A pid=([dnsmasq]=$MASQ_PID [router]=$OURS_PID)
declare -A file=([local]=$queries_local [relayed]=$queries_relay)
: >"$OUT/dns-runs.txt"
for round in $(seq 1 "$ROUNDS"); do
  for kind in $KINDS; do
    for who in router dnsmasq; do
      if [ "$kind" = uncached ]; then
        # Names nobody asked before (per round and server), more than a run can get through.
        file[uncached]="$OUT/dns-uncached.txt"
        awk -v n="$MISS_NAMES" -v p="r$round$who" 'BEGIN { for (i = 1; i <= n; i++) printf "%s-%d.relay.test A\n", p, i }' >"${file[uncached]}"
      fi
      read -r qps lost per_cpu < <(dnsperf_run "${port[$who]}" "${file[$kind]}" "$SECONDS_PER_RUN" "${pid[$who]}")
      echo "$kind $who $qps $lost $per_cpu $round" >>"$OUT/dns-runs.txt"
      printf '  round %d %-8s %-8s %9s qps  %9s answers/cpu-s  lost %s\n' "$round" "$kind" "$who" "$qps" "$per_cpu" "$lost"
    done
  done
done

echo "== DNS medians (ratio = router / dnsmasq; per round, runs side by side)"
for kind in $KINDS; do
  r="$(awk -v k="$kind" '$1 == k && $2 == "router" { print $3 }' "$OUT/dns-runs.txt" | median)"
  m="$(awk -v k="$kind" '$1 == k && $2 == "dnsmasq" { print $3 }' "$OUT/dns-runs.txt" | median)"
  rc="$(awk -v k="$kind" '$1 == k && $2 == "router" { print $5 }' "$OUT/dns-runs.txt" | median)"
  mc="$(awk -v k="$kind" '$1 == k && $2 == "dnsmasq" { print $5 }' "$OUT/dns-runs.txt" | median)"
  paired="$(awk -v k="$kind" '$1 == k { q[$6 "," $2] = $3 } END { for (key in q) { split(key, p, ","); if (p[2] == "router" && q[p[1] ",dnsmasq"] > 0) print q[key] / q[p[1] ",dnsmasq"] } }' "$OUT/dns-runs.txt" | median)"
  result "dns_${kind}_router_qps" "$r"
  result "dns_${kind}_dnsmasq_qps" "$m"
  result "dns_${kind}_ratio" "$(ratio "$r" "$m")"
  result "dns_${kind}_ratio_per_round" "$(printf '%.2f' "$paired")"
  result "dns_${kind}_router_per_cpu_s" "$rc"
  result "dns_${kind}_dnsmasq_per_cpu_s" "$mc"
  result "dns_${kind}_ratio_per_cpu" "$(ratio "$rc" "$mc")"
done
