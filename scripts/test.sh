#!/usr/bin/env bash
# Sets up (see setup.sh) and runs every test: formatting and lints, the native tests, and the
# browser tests in headless Chromium on WebGPU (SwiftShader) and on the CPU fallback.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh

step() { printf '\n== %s\n' "$*"; }
# Every runner's output also goes here, to total the tests at the end.
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (native, and the web crate for wasm32)"
cargo clippy --release --workspace --all-targets -- -D warnings
cargo clippy --release -p convlab-web --target wasm32-unknown-unknown --all-targets -- -D warnings

step "native tests (release: training tests run real epochs)"
cargo test --release --workspace 2>&1 | tee -a "$LOG"

# The browser tests train, which needs a release build: a debug step blocks the page past
# chromedriver's timeout.
export CHROMEDRIVER=/usr/bin/chromedriver
export WASM_BINDGEN_TEST_TIMEOUT=300
for backend in wgpu cpu; do
  flags=webdriver-webgpu.json
  [ "$backend" = cpu ] && flags=webdriver-cpu.json
  step "browser tests, expecting the $backend backend ($flags)"
  CONVLAB_EXPECT_BACKEND=$backend \
  WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/crates/convlab-web/$flags" \
    wasm-pack test --headless --chrome --release crates/convlab-web 2>&1 | tee -a "$LOG"
done
# One closing line for all runners (the last runner's own line may be an empty test binary's).
grep -oE '^test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$LOG" |
  awk '{p += $4; f += $6} END {printf "\nconvlab: %d passed, %d failed\n", p, f}'
