#!/usr/bin/env bash
# Sets up and runs the native command line, e.g. `scripts/cli.sh train --preset cnn` or
# `scripts/cli.sh summary --preset cnn-64`; `train` reads the real Fashion-MNIST by default.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh cli
source scripts/env.sh
cargo build --release -p convlab-cli
exec "$CARGO_TARGET_DIR/release/convlab" "$@"
