#!/usr/bin/env bash
# Survey: does `runtime validate` accept the llm-d router's own EndpointPickerConfig files?
# Extracts every complete config from a local mirror of llm-d/llm-d-router at one tag (the deploy
# configs, the perf-lab router configs, the plain-YAML config of the router chart's template, and
# complete examples in the docs), validates each with the AOT binary and prints per-file status and
# "N of M validate". A dev/perf-lab tool: it needs the mirror and out/runtime, and skips cleanly
# without the mirror.
#   tests/compat/llmd-configs.sh [mirror-git-dir] [tag]
# Environment: RUNTIME (default out/runtime), KEEP=dir to keep the extracted files, SERVE=1 to also
# serve each config that validates: the binary in front of four simulators (two labelled decode, two
# prefill) answers one chat request sent as Envoy sends it (tests/interop/demo-client.js), and the
# line shows where it was routed.
set -uo pipefail
cd "$(dirname "$0")/../.."
MIRROR=${1:-${LLMD_MIRROR:-/work/.mirror/llm-d+llm-d-router/repo}}
TAG=${2:-v0.10.0}
RUNTIME=${RUNTIME:-out/runtime}

if ! git -C "$MIRROR" rev-parse --verify -q "$TAG^{commit}" >/dev/null 2>&1; then
  echo "skipped: no llm-d-router mirror with tag $TAG at $MIRROR (pass the bare git dir as the first argument)"
  exit 0
fi
if [ ! -x "$RUNTIME" ]; then
  echo "error: $RUNTIME not found; run ./build.sh publish first" >&2
  exit 2
fi

work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -z "${KEEP:-}" ] && trap 'rm -rf "$work"' EXIT

# Extraction: whole files that are an EndpointPickerConfig; fenced ```yaml blocks of the docs that are
# a complete one (apiVersion + kind); the chart's ConfigMap entries that contain no template directive.
python3 - "$MIRROR" "$TAG" "$work" <<'PY'
import os, re, subprocess, sys
mirror, tag, out = sys.argv[1:4]
def show(path):
    return subprocess.run(["git", "-C", mirror, "show", f"{tag}:{path}"], capture_output=True, text=True).stdout
files = subprocess.run(["git", "-C", mirror, "ls-tree", "-r", "--name-only", tag], capture_output=True, text=True).stdout.split()
def save(name, text):
    with open(os.path.join(out, name.replace("/", "__")), "w") as f:
        f.write(text)
kind = re.compile(r"^kind:\s*EndpointPickerConfig\s*$", re.M)
for path in files:
    if re.match(r"(deploy/config|test/perf/config/router-configs)/[^/]+\.ya?ml$", path):
        text = show(path)
        if kind.search(text):
            save(path, text)
    elif path.startswith("docs/") and path.endswith(".md"):
        text = show(path)
        for i, block in enumerate(re.findall(r"```ya?ml\n(.*?)```", text, re.S)):
            if kind.search(block) and re.search(r"^apiVersion:", block, re.M):
                save(f"{path}#{i}.yaml", block)
    if re.match(r"(config/charts|test/perf/config/router-configs)/.*\.ya?ml$", path):
        # Helm values and ConfigMap templates: embedded "name.yaml: |" blocks without template directives.
        lines = show(path).splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"^( *)([\w.-]+\.ya?ml): \|\s*$", line)
            if not m:
                continue
            block = []
            for l in lines[i + 1:]:
                if l.strip() and len(l) - len(l.lstrip()) <= len(m.group(1)):
                    break
                block.append(l)
            indent = min((len(l) - len(l.lstrip()) for l in block if l.strip()), default=0)
            body = "".join(l[indent:] + "\n" for l in block)
            if kind.search(body) and "{{" not in body:
                save(f"{path}#{m.group(2)}", body)
PY

serve_one() { # config file -> prints the pick (or the refusal) of one exchange
  local port=$((19000 + RANDOM % 4000)) pid out
  "$RUNTIME" serve --config-file "$1" --allow-experimental-plugins --secure-serving=false \
    --bind-address 127.0.0.1 --grpc-port "$port" --grpc-health-port $((port + 1)) --metrics-port 0 \
    --bbr-grpc-port 0 --endpoints "$ENDPOINTS" >"$work.serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do { : 3<>/dev/tcp/127.0.0.1/$port; } 2>/dev/null && break; sleep 0.1; done
  sleep 1 # first metrics scrape
  out=$(timeout 20 node tests/interop/demo-client.js "127.0.0.1:$port" --requests 1 2>&1 | tail -1 | sed 's/^request 1 ([^)]*) -> //')
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  echo "$out"
}

if [ "${SERVE:-}" = 1 ]; then
  ./build.sh demo 127.0.0.1:1 0 >/dev/null 2>&1 || true # installs node and the interop client's packages
  dotnet build tests/Runtime.ModelServerSimulator -c Release -v quiet -nologo >/dev/null
  sim=tests/Runtime.ModelServerSimulator/bin/Release/net10.0/Runtime.ModelServerSimulator.dll
  dotnet "$sim" --port 18101 --count 2 --role decode >/dev/null 2>&1 & sims=$!
  dotnet "$sim" --port 18103 --count 2 --role prefill >/dev/null 2>&1 & sims="$sims $!"
  trap 'kill $sims 2>/dev/null; [ -z "${KEEP:-}" ] && rm -rf "$work"' EXIT
  for _ in $(seq 1 300); do { : 3<>/dev/tcp/127.0.0.1/18104; } 2>/dev/null && break; sleep 0.1; done
  ENDPOINTS="127.0.0.1:18101 llm-d.ai/role=decode,127.0.0.1:18102 llm-d.ai/role=decode,127.0.0.1:18103 llm-d.ai/role=prefill,127.0.0.1:18104 llm-d.ai/role=prefill"
fi

total=0; ok=0; served=0
for f in $(ls "$work" | sort); do
  total=$((total + 1))
  name=${f//__//}
  if msg=$("$RUNTIME" validate --allow-experimental-plugins --config-file "$work/$f" 2>&1); then
    ok=$((ok + 1))
    if [ "${SERVE:-}" = 1 ]; then
      pick=$(serve_one "$work/$f")
      case "$pick" in 127.0.0.1:*) served=$((served + 1)); echo "OK    $name  -> $pick" ;; *) echo "OK    $name  (serve: $pick)" ;; esac
    else
      echo "OK    $name"
    fi
  else
    echo "FAIL  $name"
    # Each diagnostic without the temporary file's path; the summary line ("N errors") dropped.
    printf '%s\n' "$msg" | grep -v ': [0-9]* errors\?$' | sed "s|^$work/[^:]*:|        |"
  fi
done
echo "$ok of $total validate"
[ "${SERVE:-}" = 1 ] && echo "$served of $ok serve one exchange"
