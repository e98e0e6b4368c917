#!/usr/bin/env bash
# ./build.sh fuzz TARGET [SECONDS] — coverage-guided fuzzing of one parser with afl-fuzz.
# Installs what it needs itself: Debian's afl++ (apt) and the SharpFuzz.CommandLine dotnet tool
# (.config/dotnet-tools.json, `dotnet tool restore`). Builds tests/Runtime.Fuzz into out/fuzz/bin,
# instruments the Runtime.* assemblies there with SharpFuzz (afl's edge coverage), and runs
# `afl-fuzz -V SECONDS` from tests/Runtime.Fuzz/corpus/TARGET; findings go to out/fuzz/TARGET.
# Each crash is replayed at the end; a fixed crash is kept as a regression input by copying it
# to tests/Runtime.Fuzz/crashes/TARGET/ (CorpusReplayTests replays it in every test run).
#   ./build.sh fuzz all [SECONDS]   every target in turn (one build), SECONDS each
#   ./build.sh fuzz list            the target names
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BIN="$ROOT/out/fuzz/bin"
PLAIN="$ROOT/out/fuzz/plain"   # the same build, not instrumented: replays run outside afl-fuzz
log() { printf '==> %s\n' "$*" >&2; }

target=${1:-}
seconds=${2:-300}
# FUZZ_REUSE_BUILD=1 skips the build and instrumentation when out/fuzz/ already holds them.
if [ -z "$target" ]; then
  echo "usage: ./build.sh fuzz TARGET [SECONDS] | ./build.sh fuzz list" >&2
  exit 2
fi
case "$seconds" in ''|*[!0-9]*) echo "error: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;; esac

if ! command -v afl-fuzz >/dev/null 2>&1; then
  log "apt-get install afl++"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq afl++ >/dev/null
fi
dotnet tool restore >/dev/null

if [ "${FUZZ_REUSE_BUILD:-}" = 1 ] && [ -f "$PLAIN/Runtime.Fuzz.dll" ] && [ -f "$BIN/.instrumented" ]; then
  log "reusing the instrumented build in out/fuzz/bin"
else
  log "building tests/Runtime.Fuzz into out/fuzz/bin"
  rm -rf "$BIN" "$PLAIN"
  logf=$(mktemp)
  if ! dotnet build tests/Runtime.Fuzz -c Release -o "$BIN" >"$logf" 2>&1; then
    cat "$logf" >&2; rm -f "$logf"; exit 1
  fi
  rm -f "$logf"
  cp -r "$BIN" "$PLAIN"
  # The code under test is ours: instrument every Runtime.* library (not the harness itself).
  for dll in "$BIN"/Runtime.*.dll; do
    case "$(basename "$dll")" in Runtime.Fuzz.dll) continue ;; esac
    dotnet sharpfuzz "$dll" >/dev/null
  done
  touch "$BIN/.instrumented"
fi

if [ "$target" = "list" ]; then
  exec dotnet "$PLAIN/Runtime.Fuzz.dll" list
fi
targets=$target
if [ "$target" = "all" ]; then
  targets=$(dotnet "$PLAIN/Runtime.Fuzz.dll" list)
elif ! dotnet "$PLAIN/Runtime.Fuzz.dll" list | grep -qx "$target"; then
  echo "error: unknown fuzz target '$target' (known: $(dotnet "$PLAIN/Runtime.Fuzz.dll" list | tr '\n' ' '))" >&2
  exit 2
fi

fuzz_one() {
  local target=$1 findings stats execs crashes hangs paths
  findings="$ROOT/out/fuzz/$target"
  rm -rf "$findings"
  log "afl-fuzz $target for ${seconds}s (findings: out/fuzz/$target)"
  # dotnet itself is not instrumented (SKIP_BIN_CHECK); the machine is shared (NO_AFFINITY) and its
  # core_pattern/cpufreq are not ours to change.
  AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
  AFL_NO_UI=1 AFL_FORKSRV_INIT_TMOUT=60000 \
    afl-fuzz -i "tests/Runtime.Fuzz/corpus/$target" -o "$findings" -t 10000 -m none -V "$seconds" \
    -- dotnet "$BIN/Runtime.Fuzz.dll" fuzz "$target" >"$findings.log" 2>&1 || { tail -30 "$findings.log" >&2; return 1; }

  stats="$findings/default/fuzzer_stats"
  execs=$(awk -F: '/^execs_done/ {gsub(/ /,"",$2); print $2}' "$stats")
  crashes=$(find "$findings/default/crashes" -type f -name 'id:*' | wc -l)
  hangs=$(find "$findings/default/hangs" -type f -name 'id:*' | wc -l)
  paths=$(awk -F: '/^corpus_count/ {gsub(/ /,"",$2); print $2}' "$stats")
  echo "$target: ${execs} inputs executed in ${seconds}s, ${paths} corpus entries, ${crashes} crashes, ${hangs} hangs"
  if [ "$crashes" -gt 0 ]; then
    for crash in "$findings"/default/crashes/id:*; do
      dotnet "$PLAIN/Runtime.Fuzz.dll" replay "$target" "$crash" 2>&1 | head -8 >&2 || true
    done
    return 1
  fi
}

rc=0
for t in $targets; do fuzz_one "$t" || rc=1; done
exit $rc
