#!/usr/bin/env bash
# Sets up, builds the page with Trunk (release, wasm-opt) and serves it on 127.0.0.1 with the
# real Fashion-MNIST under data/. CONVLAB_PORT picks another port than 8080.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
port="${CONVLAB_PORT:-8080}"
echo "convlab: building the page (the first build compiles burn for wasm32: ~15 min on 2 cores);"
echo "convlab: then open http://127.0.0.1:$port/ (Ctrl-C stops the server)"
exec trunk serve --release --port "$port"
