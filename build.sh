#!/usr/bin/env bash
# Entry point for building, running and testing Runtime on a fresh machine.
#   ./build.sh run [-- serve flags]   publish the native-AOT binary; serve the endpoint picker on 3 simulators
#   ./build.sh demo [host:port] [n]   send n chat requests through the picker and print each pick
#   ./build.sh test                   build and run every test suite; last line "N passed, N failed"
#   ./build.sh publish                native-AOT publish to out/, failing on any trim/AOT warning
#   ./build.sh budget                 allocation-budget check of the hot-path benchmarks (short mode)
#   ./build.sh bench [args]           BenchmarkDotNet (e.g. --filter '*Codec*')
#   ./build.sh load [args]            h2load against the AOT binary (perf/load/run-load.sh)
#   ./build.sh image [tag]            container images runtime:TAG and runtime-bbr:TAG from Dockerfile.aot (needs a container engine)
#   ./build.sh ci                     what CI runs: test + publish + budget, one summary line
#   ./build.sh fuzz TARGET [SECONDS]  afl-fuzz one parser (tests/Runtime.Fuzz; 'fuzz list' names them); default 300 s
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
OUT="$ROOT/out"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '==> %s\n' "$*" >&2; }

need_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "error: the .NET SDK (global.json pins 10.0.x) is not on PATH" >&2
    exit 1
  fi
}

# apt installs only what is missing; quiet when everything is there.
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The replica-state tests start a real redis-server (the Debian package).
need_redis() {
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
}

need_node() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  if [ ! -d tests/interop/node_modules ]; then
    log "npm ci (tests/interop)"
    (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

publish() {
  need_dotnet
  log "publishing the native-AOT binary to out/"
  local logf; logf=$(mktemp)
  if ! dotnet publish src/Runtime.Host -c Release -r linux-x64 \
      -p:StaticWebAssetsEnabled=false -p:CopyOutputSymbolsToPublishDirectory=false \
      -o "$OUT" >"$logf" 2>&1; then
    cat "$logf" >&2; rm -f "$logf"; return 1
  fi
  # Trim/AOT analysis warnings (IL2xxx/IL3xxx) are defects here, not noise.
  if grep -E 'warning (IL[0-9]+|CS[0-9]+|CA[0-9]+)' "$logf" >&2; then
    echo "error: publish produced warnings (see above)" >&2; rm -f "$logf"; return 1
  fi
  rm -f "$logf"
  log "binary: $OUT/runtime ($(du -h "$OUT/runtime" | cut -f1))"
}

# Runs every test project; sets TEST_PASSED / TEST_FAILED.
run_tests() {
  need_dotnet
  need_node
  need_redis
  log "building"
  local logf; logf=$(mktemp)
  TEST_PASSED=0; TEST_FAILED=0
  if ! dotnet build Runtime.sln -c Release >"$logf" 2>&1; then
    grep -E 'error|Error' "$logf" | sort -u >&2 || cat "$logf" >&2
    echo "error: build failed" >&2
    TEST_FAILED=1; rm -f "$logf"; return 1
  fi
  # The end-to-end suites drive the AOT binary, as users run it.
  # Callers run this in an `||` context, where set -e is off: a failed publish must stop here.
  if [ -z "${RUNTIME_BINARY:-}" ]; then
    if ! publish; then
      echo "error: the AOT publish failed; not running the tests against a stale binary" >&2
      TEST_FAILED=1; rm -f "$logf"; return 1
    fi
    export RUNTIME_BINARY="$OUT/runtime"
  fi
  log "testing"
  local rc=0
  dotnet test Runtime.sln -c Release --no-build --logger "console;verbosity=minimal" 2>&1 | tee "$logf" || rc=$?
  # VSTest prints one summary per test assembly: "Passed!  - Failed: 0, Passed: 42, ..."
  local p f
  p=$(grep -Eo 'Passed: +[0-9]+' "$logf" | awk '{s+=$2} END {print s+0}')
  f=$(grep -Eo 'Failed: +[0-9]+' "$logf" | awk '{s+=$2} END {print s+0}')
  TEST_PASSED=${p:-0}; TEST_FAILED=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$TEST_FAILED" -eq 0 ]; then
    echo "error: dotnet test exited $rc without a failed test (a test host crashed?)" >&2
    TEST_FAILED=1
  fi
  rm -f "$logf"
  [ "$TEST_FAILED" -eq 0 ]
}

budget() {
  need_dotnet
  log "allocation budgets of hot-path benchmarks (current thread, fully optimised JIT)"
  # No tiering: every method is compiled once, fully optimised (as in the AOT binary), so the
  # figures cannot move with tier-up timing between runs.
  DOTNET_TieredCompilation=0 dotnet run -c Release --project perf/Runtime.Benchmarks -- --budget
}

cmd=${1:-help}; shift || true
case "$cmd" in
  run)
    publish
    [ "${1:-}" = "--" ] && shift
    # Three simulated vLLM servers on :8001-8003 give the picker real endpoints with live metrics.
    log "building and starting 3 model-server simulators on 127.0.0.1:8001-8003"
    dotnet build tests/Runtime.ModelServerSimulator -c Release -v quiet -nologo >/dev/null
    dotnet tests/Runtime.ModelServerSimulator/bin/Release/net10.0/Runtime.ModelServerSimulator.dll \
      --port 8001 --count 3 --lora food-review,cad-fabricator --time-per-token-ms 5 &
    simulators=$!
    trap 'kill $simulators 2>/dev/null || true' EXIT
    for _ in $(seq 1 600); do { : 3<>/dev/tcp/127.0.0.1/8003; } 2>/dev/null && break; sleep 0.1; done
    # The edge example: the pool, its three "pods", objectives, rewrites and base-model mappings
    # come from a manifests directory; edit it while running and the picker reconciles.
    log "starting $OUT/runtime serve on examples/edge/manifests (Ctrl-C to stop); in another terminal: ./build.sh demo"
    "$OUT/runtime" serve --manifests-dir examples/edge/manifests --pool-name vllm-sim --secure-serving=false -v 3 "$@"
    ;;
  demo)
    need_node
    node tests/interop/demo-client.js "${1:-127.0.0.1:9002}" --requests "${2:-8}"
    ;;
  test)
    rc=0; run_tests || rc=1
    echo "${TEST_PASSED} passed, ${TEST_FAILED} failed"
    exit $rc
    ;;
  publish) publish ;;
  budget) budget ;;
  bench) need_dotnet; dotnet run -c Release --project perf/Runtime.Benchmarks -- "$@" ;;
  load) exec perf/load/run-load.sh "$@" ;;
  image)
    tag=${1:-latest}
    engine=$(command -v docker || command -v podman || true)
    if [ -z "$engine" ] || ! "$engine" info >/dev/null 2>&1; then
      echo "error: no running container engine (docker or podman) here; build Dockerfile.aot where one exists" >&2
      exit 1
    fi
    for target in runtime runtime-bbr; do
      log "$engine build --target $target -t $target:$tag"
      "$engine" build -f Dockerfile.aot --target "$target" -t "$target:$tag" .
    done
    ;;
  fuzz) exec tests/Runtime.Fuzz/fuzz.sh "$@" ;;
  ci)
    passed=0; failed=0
    # Publish first: the end-to-end tests run this binary, and warnings must fail CI.
    if publish; then passed=$((passed + 1)); export RUNTIME_BINARY="$OUT/runtime"; else failed=$((failed + 1)); fi
    run_tests || true
    passed=$((passed + TEST_PASSED)); failed=$((failed + TEST_FAILED))
    if budget; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    echo "${passed} passed, ${failed} failed"
    [ "$failed" -eq 0 ]
    ;;
  *)
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
    ;;
esac
