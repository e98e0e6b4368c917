#!/usr/bin/env bash
# Soak run of the endpoint picker: the AOT binary over four model-server simulators, mixed
# Envoy-like ext_proc traffic (short and long prompts, SSE and JSON responses streamed back
# through the response phase, cancellations at three points, a model-server restart every
# eighth of the run, Kubernetes watches dropped and expired, a 4th simulator and a config edit
# at half time), a sample of the server's RSS,
# GC heap, threads, open FDs and pick/exchange p50/p99 every few seconds, a CSV, a PNG plot
# and one summary line.
#
# usage: perf/soak.sh --minutes N [--rate R] [--size BYTES] [options]
#   --minutes N          measured length (default 3), after a warm-up
#   --rate R             exchanges started per second (default 40)
#   --size BYTES         request body of the long prompts, 20% of the traffic (default 20000)
#   --sample-seconds S   sampling interval (default 5)
#   --warmup-seconds S   unsampled traffic before the measured run (default 15)
#   --control-plane C    kubernetes (default: pods and the InferencePool on a fake API server in the
#                        driver, which drops and expires the runtime's watches through the run and
#                        marks a restarting simulator's pod unready) or file (--endpoints-file)
#   --config-change K    both (default: a 4th simulator joins, as a new pod or endpoints-file line,
#                        and the --config-file's prefix weight changes, applied by hot reload),
#                        endpoints or config
#   --out DIR            files go here (default perf/results/soak-<timestamp>, git-ignored)
# environment:
#   RUNTIME_BINARY       the binary (default out/runtime, published with ./build.sh publish when missing)
# Exit status: 0 pass; 1 a failed exchange, the runtime exiting, or the median RSS, open FDs
# or threads of the last quarter over 1.1 x the first quarter's; 2 bad usage or setup.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
die() { echo "soak: $*" >&2; exit 2; }

out_dir=""
driver_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes|--rate|--size|--sample-seconds|--warmup-seconds|--config-change|--control-plane)
      [ $# -ge 2 ] || die "missing value for $1"; driver_args+=("$1" "$2"); shift 2 ;;
    --out) [ $# -ge 2 ] || die "missing value for $1"; out_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
out_dir="${out_dir:-$root/perf/results/soak-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"

binary="${RUNTIME_BINARY:-$root/out/runtime}"
if [ ! -x "$binary" ]; then
  [ -z "${RUNTIME_BINARY:-}" ] || die "RUNTIME_BINARY=$binary is not executable"
  (cd "$root" && ./build.sh publish) || die "could not publish the binary"
fi

if ! command -v gnuplot >/dev/null 2>&1; then
  echo "soak: installing gnuplot-nox (Debian) for the plot" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -qq gnuplot-nox >/dev/null 2>&1 \
    || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq gnuplot-nox >/dev/null 2>&1; } \
    || echo "soak: could not install gnuplot; the CSV is written, the PNG is not" >&2
fi

driver="$here/Runtime.Soak/bin/Release/net10.0/Runtime.Soak.dll"
# A no-op build still costs minutes on a busy machine: build only when a source is newer.
if [ ! -f "$driver" ] || [ -n "$(find "$here/Runtime.Soak" "$root/tests/Runtime.TestSupport" "$root/tests/Runtime.ModelServerSimulator" \
    -name '*.cs' -newer "$driver" -not -path '*/obj/*' | head -1)" ]; then
  echo "soak: building the driver (perf/Runtime.Soak)" >&2
  dotnet build "$here/Runtime.Soak" -c Release -v q -nologo >"$out_dir/build.log" 2>&1 \
    || { cat "$out_dir/build.log" >&2; die "could not build perf/Runtime.Soak"; }
fi

echo "soak: files go to $out_dir (soak.csv, soak.png, summary.txt, failures.log, runtime.log)" >&2
status=0
dotnet "$driver" --binary "$binary" --out "$out_dir" "${driver_args[@]}" \
  | tee "$out_dir/driver.log" || status=$? # pipefail: the driver's status

if command -v gnuplot >/dev/null 2>&1 && [ -s "$out_dir/soak.csv" ]; then
  gnuplot -e "csv='$out_dir/soak.csv'; png='$out_dir/soak.png'; title='$(head -c 200 "$out_dir/summary.txt" 2>/dev/null | tr -d "'" | cut -d';' -f1)'" \
    "$here/soak.gnuplot" 2>"$out_dir/gnuplot.log" || echo "soak: gnuplot failed (see $out_dir/gnuplot.log)" >&2
fi

exit "$status"
