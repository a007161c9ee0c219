#!/usr/bin/env bash
# Sets up only what the page needs, builds it with Trunk and serves it on 127.0.0.1 with the real
# Fashion-MNIST under data/. CONVLAB_PORT picks another port than 8080.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh page
source scripts/env.sh
port="${CONVLAB_PORT:-8080}"
echo "convlab: http://127.0.0.1:$port/ (Ctrl-C stops the server)"
# Cargo's release profile (the speed training needs) without Trunk's release mode, whose only
# other work here is wasm-opt: it shrinks the download, which a page served to this machine
# does not need. scripts/publish.sh builds the shrunk modules for a real host.
exec trunk serve --cargo-profile release --port "$port"
