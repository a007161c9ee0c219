#!/usr/bin/env bash
# Sets up and runs convlab: trains the lab's CNN on the real Fashion-MNIST for 5 epochs and
# evaluates it on the 10,000 test images. Extra arguments go to `convlab train`
# (e.g. scripts/run.sh --preset dnn --epochs 20).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
cargo build --release -p convlab-cli
exec "$CARGO_TARGET_DIR/release/convlab" train --data "$DATA_DIR" "$@"
