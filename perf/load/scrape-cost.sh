#!/usr/bin/env bash
# CPU cost of metrics scraping in the real binary: N simulated vLLM servers (one process, pinned to
# LOAD_CPUS), `runtime serve --endpoints` on them with no traffic (pinned to SERVER_CPUS), and the
# server's CPU time over S seconds after a warm-up. Prints cores used and CPU per scrape.
# usage: perf/load/scrape-cost.sh [N=100] [S=60] [interval=50ms]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
count="${1:-100}"; seconds="${2:-60}"; interval="${3:-50ms}"
binary="${RUNTIME_BINARY:-$root/out/runtime}"
[ -x "$binary" ] || { echo "scrape-cost: publish first (./build.sh publish) or set RUNTIME_BINARY" >&2; exit 2; }
dotnet build "$root/tests/Runtime.ModelServerSimulator" -c Release >/dev/null
base=$(( 20000 + RANDOM % 20000 ))
taskset -c "${LOAD_CPUS:-1}" dotnet "$root/tests/Runtime.ModelServerSimulator/bin/Release/net10.0/Runtime.ModelServerSimulator.dll" \
  --port "$base" --count "$count" >/dev/null 2>&1 &
sims=$!
trap 'kill $sims $server 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do { : 3<>"/dev/tcp/127.0.0.1/$((base + count - 1))"; } 2>/dev/null && break; sleep 0.1; done
endpoints=$(seq -s, -f "127.0.0.1:%g" "$base" $((base + count - 1)))
taskset -c "${SERVER_CPUS:-0}" "$binary" serve --secure-serving=false --bind-address 127.0.0.1 --grpc-port 0 --grpc-health-port 0 \
  --bbr-grpc-port 0 --endpoints "$endpoints" --refresh-metrics-interval "$interval" >/dev/null 2>&1 &
server=$!
sleep 5
ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
before=$(ticks); sleep "$seconds"; after=$(ticks)
hz=$(getconf CLK_TCK)
awk -v t=$((after - before)) -v hz="$hz" -v s="$seconds" -v n="$count" -v i="$interval" 'BEGIN {
  cpu = t / hz; ms = i + 0; if (i ~ /ms$/) ms = substr(i, 1, length(i) - 2) + 0; else if (i ~ /s$/) ms = (substr(i, 1, length(i) - 1) + 0) * 1000;
  scrapes = n * s * 1000 / ms;
  printf "%d endpoints every %s for %d s: %.2f s CPU = %.3f cores, %.0f us CPU per scrape (nominal %d scrapes)\n", n, i, s, cpu, cpu / s, cpu * 1e6 / scrapes, scrapes }'
