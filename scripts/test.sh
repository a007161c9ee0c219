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

step "shellcheck (the scripts)"
shellcheck -x scripts/*.sh bench/*.sh .ci/run

step "the source tree's shape (no file over 400 lines, no import cycle in convlab-core, README's layout map)"
python3 scripts/check-structure.py

step "cargo clippy (native, and the web crate for wasm32)"
cargo clippy --release --workspace --all-targets -- -D warnings
# Twice: the page's CPU-only module (convlab-web-cpu), and the WebGPU build (convlab-web-gpu:
# convlab-web's `webgpu` feature).
cargo clippy --release -p convlab-web -p convlab-web-cpu --target wasm32-unknown-unknown --all-targets -- -D warnings
cargo clippy --release -p convlab-web -p convlab-web-gpu --features convlab-web/webgpu \
  --target wasm32-unknown-unknown --all-targets -- -D warnings

step "native tests (release: training tests run real epochs)"
cargo test --release --workspace 2>&1 | tee -a "$LOG"

# The browser tests train, which needs a release build: a debug step blocks the page past
# chromedriver's timeout.
export CHROMEDRIVER=/usr/bin/chromedriver
export WASM_BINDGEN_TEST_TIMEOUT=300
# The WebGPU run tests the WebGPU build (the `webgpu` feature, as the worker runs it where an
# adapter exists); the CPU run tests the page's CPU-only module, as browsers without one get it.
for backend in wgpu cpu; do
  flags=webdriver-webgpu.json features=(--features webgpu)
  [ "$backend" = cpu ] && flags=webdriver-cpu.json features=()
  step "browser tests, expecting the $backend backend ($flags ${features[*]})"
  CONVLAB_EXPECT_BACKEND=$backend \
  WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/crates/convlab-web/$flags" \
    wasm-pack test --headless --chrome --release crates/convlab-web "${features[@]}" 2>&1 | tee -a "$LOG"
done

step "the page and its bundle: scripts/publish.sh (trunk build --release, www/ -> dist/ -> publish/)"
scripts/publish.sh

step "end-to-end tests: the page and the bundle in headless Chromium, the Pages workflow's lint (tests/e2e)"
(cd tests/e2e && npm ci --no-audit --no-fund --silent && node --test --test-concurrency=1) 2>&1 | tee -a "$LOG"

# One closing line for all runners (the last runner's own line may be an empty test binary's):
# cargo's "test result: ok. N passed; N failed" and node's TAP "# pass N" / "# fail N".
{
  grep -oE '^test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$LOG" | awk '{print $4, $6}'
  paste <(grep -oE '^# pass [0-9]+' "$LOG" | awk '{print $3}') <(grep -oE '^# fail [0-9]+' "$LOG" | awk '{print $3}')
} | awk '{p += $1; f += $2} END {printf "\nconvlab: %d passed, %d failed\n", p, f}'
