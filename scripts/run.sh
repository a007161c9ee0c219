#!/usr/bin/env bash
# Sets up only what the page needs, builds it with Trunk (release, wasm-opt) and serves it on
# 127.0.0.1 with the real Fashion-MNIST under data/. CONVLAB_PORT picks another port than 8080.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh page
source scripts/env.sh
port="${CONVLAB_PORT:-8080}"
echo "convlab: Trunk now shrinks the two modules with wasm-opt (about 5 min on 2 cores), then serves"
echo "convlab: http://127.0.0.1:$port/ (Ctrl-C stops the server)"
exec trunk serve --release --port "$port"
