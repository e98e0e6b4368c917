#!/usr/bin/env bash
# Runs the Node gRPC interop checks (interop.js) against a running Runtime server.
# Installs @grpc/grpc-js and @grpc/proto-loader from package-lock.json on first use.
#
# usage: tests/interop/run.sh <ext_proc host:port> [<health host:port>] [--proto-root DIR] [--timeout-ms N]
# Prints one JSON line per case on stdout; npm's output goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! command -v node >/dev/null 2>&1; then
  echo "run.sh: node is required (Debian: apt-get install -y nodejs npm)" >&2
  exit 127
fi

if [ ! -f "$here/node_modules/@grpc/grpc-js/package.json" ] || [ ! -f "$here/node_modules/@grpc/proto-loader/package.json" ]; then
  echo "run.sh: installing interop dependencies (npm ci)" >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) 1>&2
fi

exec node "$here/interop.js" "$@"
