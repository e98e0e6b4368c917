#!/usr/bin/env bash
# Load test of the runtime's ext_proc port with h2load: full-duplex exchanges exactly as
# Envoy sends them (perf/load/make-exchange.py), the server pinned to one core and
# h2load to another. Prints exchanges/s, latency percentiles, failures, server CPU per
# exchange, binary size, startup time and RSS, for each server variant and body size.
#
# usage: perf/load/run-load.sh [options] [-- extra server args for every variant]
#   --variant NAME[=ARGS]   a server configuration; ARGS are extra server arguments
#                           (repeatable; default: "pass-through=--processor pass-through"),
#                           e.g. --variant 'pass-through=--processor pass-through' --variant 'bbr=bbr --streaming'
#                           (ARGS starting with "bbr" run the body-based router subcommand;
#                           serve variants get --endpoints of the simulators, see --simulators)
#   --binary NAME=PATH      a server binary to compare (repeatable): every variant runs on
#                           every binary, rows are labelled NAME/VARIANT (default: one binary,
#                           $RUNTIME_BINARY or out/runtime, rows labelled VARIANT)
#   --peer NAME=MODE        also load the grpc-go ext_proc peer (../shared/peers/go-extproc) in
#                           MODE null (echo) or epp (decodes the JSON body and picks), as one
#                           more row of every round (repeatable), e.g. --peer go-echo=null
#   --chunk-bytes N         largest request body chunk per ext_proc message (default 62000, one
#                           message for a 62 KB body; 16384 is Envoy's shape)
#   --rounds N              run the whole set of binaries x variants N times, interleaved
#                           (round 1: A, B; round 2: A, B; ...) so machine noise hits all of
#                           them; with N > 1 a median row per label and size ends the table
#   --simulators N          start N model-server simulators (one process) and pass them to
#                           every serve variant as --endpoints (default 0)
#   --sizes "1024 220000"   request body sizes in bytes
#   --clients N             h2load -c, connections (default 4)
#   --streams N             h2load -m, concurrent streams per connection (default 64)
#   --requests N            h2load -n, exchanges per measurement (default 20000)
#   --duration S            h2load -D, measure for S seconds instead of --requests
#   --warmup N              exchanges before each measurement (default 2000, 0 = none)
#   --response-body-bytes N also stream an SSE response body of N bytes per exchange
#   --out DIR               keep files here (default perf/results/load-<timestamp>)
# environment:
#   RUNTIME_BINARY          the binary to load (default out/runtime, published when missing)
#   SERVER_CPUS, LOAD_CPUS  taskset CPU lists (default 0 and 1)
#   START_TIMEOUT_S         how long the server may take to listen (default 30)
#   GO_PEER                 the peer's extproc-peer binary (default: built once into
#                           perf/results/go-extproc from ../shared/peers/go-extproc)
# Exit status is 1 if any sanity check failed or h2load reported a failed, errored,
# timed-out or non-2xx request.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
process_path="/envoy.service.ext_proc.v3.ExternalProcessor/Process"

sizes="1024 220000"
clients=4
streams=64
requests=20000
duration=""
warmup=2000
response_body_bytes=0
simulators=0
out_dir=""
variants=()
binaries=()
rounds=1
common_args=()
peers=()
chunk_bytes=62000

die() { echo "run-load: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --variant) variants+=("$2"); shift 2 ;;
    --binary) binaries+=("$2"); shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --peer) peers+=("$2"); shift 2 ;;
    --chunk-bytes) chunk_bytes="$2"; shift 2 ;;
    --sizes) sizes="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --streams) streams="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --response-body-bytes) response_body_bytes="$2"; shift 2 ;;
    --simulators) simulators="$2"; shift 2 ;;
    --out) out_dir="$2"; shift 2 ;;
    --) shift; common_args=("$@"); break ;;
    -h|--help) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ ${#variants[@]} -gt 0 ] || variants=("pass-through=--processor pass-through")
server_cpus="${SERVER_CPUS:-0}"
load_cpus="${LOAD_CPUS:-1}"
out_dir="${out_dir:-$root/perf/results/load-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out_dir"

# --- tools -----------------------------------------------------------------------------
if ! command -v h2load >/dev/null 2>&1 || ! command -v nghttp >/dev/null 2>&1; then
  echo "run-load: installing nghttp2-client (h2load, nghttp)" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get install -y nghttp2-client >&2 || { $sudo_cmd apt-get update >&2 && $sudo_cmd apt-get install -y nghttp2-client >&2; }
fi
command -v taskset >/dev/null 2>&1 || die "taskset is required (apt-get install -y util-linux)"

# --- binary ----------------------------------------------------------------------------
if [ ${#binaries[@]} -eq 0 ]; then
  binary="${RUNTIME_BINARY:-$root/out/runtime}"
  if [ ! -x "$binary" ]; then
    [ -z "${RUNTIME_BINARY:-}" ] || die "RUNTIME_BINARY=$RUNTIME_BINARY is not an executable file"
    echo "run-load: publishing the AOT binary to $root/out" >&2
    dotnet publish "$root/src/Runtime.Host" -c Release -r linux-x64 \
      -p:StaticWebAssetsEnabled=false -p:CopyOutputSymbolsToPublishDirectory=false -o "$root/out" >&2
  fi
  binaries=("=$binary")
fi
for entry in "${binaries[@]}"; do
  [ "$entry" != "${entry#*=}" ] || die "--binary wants NAME=PATH, got $entry"
  [ -x "${entry#*=}" ] || die "binary ${entry#*=} is not an executable file"
done

# --- the Go peer ------------------------------------------------------------------------
go_peer="${GO_PEER:-}"
if [ ${#peers[@]} -gt 0 ] && [ -z "$go_peer" ]; then
  go_peer="$root/perf/results/go-extproc/bin/extproc-peer"
  if [ ! -x "$go_peer" ]; then
    source_dir="$root/../shared/peers/go-extproc"
    [ -d "$source_dir" ] || die "--peer needs ../shared/peers/go-extproc or GO_PEER"
    echo "run-load: building the Go peer into $root/perf/results/go-extproc" >&2
    rm -rf "$root/perf/results/go-extproc" && mkdir -p "$root/perf/results" && cp -r "$source_dir" "$root/perf/results/go-extproc"
    (cd "$root/perf/results/go-extproc" && ./build.sh) >&2 || die "could not build the Go peer"
  fi
fi
for entry in "${peers[@]}"; do
  case "${entry#*=}" in null|epp) ;; *) die "--peer wants NAME=null or NAME=epp, got $entry" ;; esac
done

# --- exchange files --------------------------------------------------------------------
for size in $sizes; do
  python3 "$here/make-exchange.py" --body-bytes "$size" --chunk-bytes "$chunk_bytes" --response-body-bytes "$response_body_bytes" \
    -o "$out_dir/exchange-$size.bin" 2>/dev/null
done

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
clk_tck=$(getconf CLK_TCK)

clock() { # sets NOW in µs; bash 5's EPOCHREALTIME avoids a fork per reading
  if [ -n "${EPOCHREALTIME:-}" ]; then NOW="${EPOCHREALTIME/[.,]/}"; else NOW=$(( $(date +%s%N) / 1000 )); fi
}

wait_for_port() { # pid port timeout_s
  clock
  local deadline=$(( NOW + $3 * 1000000 ))
  # ':' with a redirection connects from this shell (no subshell), so polling stays cheap.
  until { : 3<>"/dev/tcp/127.0.0.1/$2"; } 2>/dev/null; do
    kill -0 "$1" 2>/dev/null || return 1
    clock
    [ "$NOW" -lt "$deadline" ] || return 1
    sleep 0.001  # nothing to await: the port is polled
  done
}

stop_server() { # pid
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "run-load: server $1 ignored SIGTERM for 10 s; killing it" >&2
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

sanity_check() { # port size label [status-only]
  local url="http://127.0.0.1:$1$process_path" file="$out_dir/exchange-$2.bin" base="$out_dir/$3-sanity-$2"
  nghttp -n -v -d "$file" -H 'content-type: application/grpc' -H 'te: trailers' "$url" > "$base.log" 2>&1 || true
  if ! grep -a -q 'grpc-status: 0' "$base.log"; then
    echo "run-load: sanity $3 ${2}B: no grpc-status 0 (see $base.log)" >&2
    grep -a -E 'grpc-(status|message)|:status' "$base.log" >&2 || true
    return 1
  fi
  # The Go peer is only checked for its status: in epp mode it re-marshals the body, and in null
  # mode it echoes a chunk whole, past the 62,000 B pieces the checker holds us to.
  [ -z "${4:-}" ] || return 0
  nghttp -d "$file" -H 'content-type: application/grpc' -H 'te: trailers' "$url" > "$base.bin" 2>/dev/null || true
  python3 "$here/check-exchange.py" "$file" "$base.bin" >&2
}

percentiles() { # h2load log file -> "p50 p90 p99" in ms (nearest rank)
  python3 - "$1" <<'PY'
import math, sys
values = sorted(int(line.split("\t")[2]) for line in open(sys.argv[1]) if line.strip())
def pct(p):
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)] / 1000 if values else float("nan")
print(f"{pct(50):.2f} {pct(90):.2f} {pct(99):.2f}")
PY
}

# --- model-server simulators ------------------------------------------------------------
simulator_pid=""
endpoints=""
if [ "$simulators" -gt 0 ]; then
  base_port=$(( 20000 + RANDOM % 20000 ))
  dotnet build "$root/tests/Runtime.ModelServerSimulator" -c Release >/dev/null
  # Pinned with the load generator: the simulators only answer metrics scrapes here.
  taskset -c "$load_cpus" dotnet "$root/tests/Runtime.ModelServerSimulator/bin/Release/net10.0/Runtime.ModelServerSimulator.dll" \
    --port "$base_port" --count "$simulators" > "$out_dir/simulators.log" 2>&1 &
  simulator_pid=$!
  trap '[ -z "$simulator_pid" ] || kill "$simulator_pid" 2>/dev/null || true' EXIT
  for i in $(seq 0 $((simulators - 1))); do
    endpoints="${endpoints:+$endpoints,}127.0.0.1:$((base_port + i))"
  done
  wait_for_port "$simulator_pid" $((base_port + simulators - 1)) 60 || die "simulators did not start (see $out_dir/simulators.log)"
fi

failures=0
summary="$out_dir/summary.tsv"
printf 'variant\tbody_B\texchanges/s\tp50_ms\tp90_ms\tp99_ms\tfailed\tcpu_ms/ex\tresp_B/ex\tstartup_ms\trss_idle_MB\trss_after_MB\trss_peak_MB\n' > "$summary"

runs=()
for round in $(seq 1 "$rounds"); do
  for entry in "${binaries[@]}"; do
    for variant in "${variants[@]}"; do
      runs+=("$round|$entry|$variant")
    done
  done
  for entry in "${peers[@]}"; do
    runs+=("$round|peer=$go_peer|$entry")
  done
done

for run in "${runs[@]}"; do
  round="${run%%|*}"; rest="${run#*|}"
  entry="${rest%%|*}"; variant="${rest#*|}"
  binary_name="${entry%%=*}"; binary="${entry#*=}"
  binary_bytes=$(stat -L -c %s "$binary")
  name="${variant%%=*}"
  extra=""
  [ "$name" = "$variant" ] || extra="${variant#*=}"
  [ -z "$binary_name" ] || name="$binary_name/$name"
  [ "$rounds" -eq 1 ] || name="$name#$round"
  file_name="${name//\//-}"
  # ARGS may start with the subcommand to run (e.g. 'bbr=bbr --streaming'); default serve.
  command=serve
  case "$extra" in bbr|bbr\ *) command=bbr; extra="${extra#bbr}" ;; esac
  grpc_port=$(free_port); health_port=$(free_port); metrics_port=$(free_port)
  serve_args=()
  if [ "$command" = serve ]; then
    serve_args=(--bbr-grpc-port "$(free_port)" --bbr-grpc-health-port "$(free_port)")
    [ -z "$endpoints" ] || serve_args+=(--endpoints "$endpoints")
  fi
  peer_mode=""
  if [ "$binary_name" = peer ]; then
    # The Go peer: one listener, no health port; NAME=MODE is the row's label and its -mode.
    peer_mode="$extra"; name="${variant%%=*}"; [ "$rounds" -eq 1 ] || name="$name#$round"; file_name="$name"
    health_port="$grpc_port"
    server_cmd=("$binary" -addr "127.0.0.1:$grpc_port" -mode "$peer_mode")
    [ -z "$endpoints" ] || server_cmd+=(-endpoints "$endpoints")
  else
    # shellcheck disable=SC2086 # the variant's ARGS are split on purpose
    # --tracing=false as the charts pass it by default (Go's own default prints a tenth of the spans
    # to stdout); a variant's --tracing comes later and wins.
    server_cmd=("$binary" "$command" --grpc-port "$grpc_port" --grpc-health-port "$health_port" --metrics-port "$metrics_port"
      --secure-serving=false --bind-address 127.0.0.1 --tracing=false "${serve_args[@]}" ${extra} "${common_args[@]}")
  fi
  echo "run-load: [$name] ${server_cmd[*]}" >&2

  clock
  started=$NOW
  taskset -c "$server_cpus" "${server_cmd[@]}" > "$out_dir/$file_name-server.log" 2>&1 &
  pid=$!
  if ! wait_for_port "$pid" "$grpc_port" "${START_TIMEOUT_S:-30}" || ! wait_for_port "$pid" "$health_port" "${START_TIMEOUT_S:-30}"; then
    echo "run-load: [$name] server did not listen within ${START_TIMEOUT_S:-30} s; its output:" >&2
    cat "$out_dir/$file_name-server.log" >&2
    stop_server "$pid"
    failures=$((failures + 1))
    continue
  fi
  clock
  startup_ms=$(( (NOW - started) / 1000 ))
  rss_idle=$(rss_kb "$pid")

  for size in $sizes; do
    label="$file_name-$size"
    if ! sanity_check "$grpc_port" "$size" "$file_name" "$peer_mode"; then
      failures=$((failures + 1))
      continue
    fi
    h2load_common=(-c "$clients" -m "$streams" -t 1 -d "$out_dir/exchange-$size.bin"
      -H 'content-type: application/grpc' -H 'te: trailers')
    url="http://127.0.0.1:$grpc_port$process_path"
    if [ "$warmup" -gt 0 ]; then
      taskset -c "$load_cpus" h2load "${h2load_common[@]}" -n "$warmup" "$url" > "$out_dir/$label-warmup.txt" 2>&1 || true
    fi

    if [ -n "$duration" ]; then amount=(-D "$duration"); else amount=(-n "$requests"); fi
    # h2load logs every request (for the percentiles) to memory first, moved next to the report
    # afterwards: at 1 KB that is ~100,000 lines a second, and written to this VM's disk it took
    # 20-25 % of the exchanges/s a fast server reached (perf/README, "the harness's 1 KB ceiling").
    request_log=$(mktemp -p /dev/shm h2load-requests.XXXXXX 2>/dev/null || echo "$out_dir/$label-requests.log")
    ticks_before=$(cpu_ticks "$pid")
    taskset -c "$load_cpus" h2load "${h2load_common[@]}" "${amount[@]}" --log-file "$request_log" "$url" \
      > "$out_dir/$label-h2load.txt" 2>&1 || true
    ticks_after=$(cpu_ticks "$pid")
    [ "$request_log" = "$out_dir/$label-requests.log" ] || mv "$request_log" "$out_dir/$label-requests.log"
    report="$out_dir/$label-h2load.txt"

    rate=$(awk '/^finished in/ { print $(NF-2) }' "$report")
    read -r done_count failed errored timed_out < <(awk '/^requests:/ { print $6, $10, $12, $14 }' "$report")
    non2xx=$(awk '/^status codes:/ { print $5 + $7 + $9 }' "$report")
    data_bytes=$(awk '/^traffic:/ { for (i = 1; i <= NF; i++) if ($i == "data") { v = $(i-1); gsub(/[()]/, "", v); print v } }' "$report")
    if [ -z "$rate" ] || [ -z "${done_count:-}" ]; then
      echo "run-load: [$label] could not read h2load's report:" >&2
      cat "$report" >&2
      failures=$((failures + 1))
      continue
    fi
    bad=$(( ${failed:-0} + ${errored:-0} + ${timed_out:-0} + ${non2xx:-0} ))
    if [ "$bad" -gt 0 ] || [ "${done_count:-0}" -eq 0 ]; then
      echo "run-load: [$label] h2load: $failed failed, $errored errored, $timed_out timed out, $non2xx non-2xx of $done_count" >&2
      failures=$((failures + 1))
    fi
    read -r p50 p90 p99 < <(percentiles "$out_dir/$label-requests.log")
    cpu_ms=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$clk_tck" -v n="$done_count" 'BEGIN { printf "%.3f", n ? t * 1000 / hz / n : 0 }')
    resp_per_ex=$(awk -v b="${data_bytes:-0}" -v n="$done_count" 'BEGIN { printf "%d", n ? b / n : 0 }')
    if [ "$resp_per_ex" -lt $(( size / 2 )) ]; then
      echo "run-load: [$label] warning: only $resp_per_ex response bytes per exchange for a $size B body (gRPC errors hide behind HTTP 200)" >&2
    fi
    rss_after=$(rss_kb "$pid")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\n' "$name" "$size" "$rate" "$p50" "$p90" "$p99" "$bad" "$cpu_ms" \
      "$resp_per_ex" "$startup_ms" "$(awk -v k="$rss_idle" 'BEGIN { print k / 1024 }')" \
      "$(awk -v k="$rss_after" 'BEGIN { print k / 1024 }')" "$(awk -v k="$(hwm_kb "$pid")" 'BEGIN { print k / 1024 }')" >> "$summary"

    # A server that degraded under load must still answer correctly.
    sanity_check "$grpc_port" "$size" "$file_name-after" "$peer_mode" || failures=$((failures + 1))
  done

  stop_server "$pid"
done

echo
for entry in "${binaries[@]}"; do
  entry_name="${entry%%=*}"
  echo "binary: ${entry_name:+$entry_name = }${entry#*=} ($(awk -v b="$(stat -L -c %s "${entry#*=}")" 'BEGIN { printf "%.1f MB", b / 1048576 }'))"
done
if [ "$rounds" -gt 1 ]; then
  # Median exchanges/s per label and size over the rounds (labels are NAME#ROUND).
  python3 - "$summary" <<'PY' >> "$summary"
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])][1:]
groups = {}
for row in rows:
    groups.setdefault((row[0].rsplit("#", 1)[0], row[1]), []).append(float(row[2]))
for (label, size), rates in groups.items():
    print(f"{label}#median\t{size}\t{statistics.median(rates):.2f}" + "\t-" * 10)
PY
fi
echo "load: h2load -c $clients -m $streams ${duration:+-D $duration}${duration:--n $requests}, server cpus $server_cpus, load cpus $load_cpus, body chunks of at most $chunk_bytes B, response body ${response_body_bytes} B"
column -t -s $'\t' "$summary"
echo "files: $out_dir"
if [ "$failures" -gt 0 ]; then
  echo "run-load: $failures failure(s)" >&2
  exit 1
fi
