#!/usr/bin/env bash
# convlab vs TensorFlow.js and jax-js (pinned in bench/browser/package.json) in the same headless
# Chromium, same run: the lab CNN on the same real images and batch size, convlab on WebGPU and
# on its CPU fallback, TF.js on each backend (cpu, wasm, webgl, webgpu), jax-js on each of its
# (wasm, webgl, webgpu). Prints Markdown tables. --count counts each trainer's WebGPU calls per
# step instead of timing (bench/browser/gpu-count.js).
#   scripts/bench-browser.sh [--batch 32,128] [--samples 320] [--epochs 3] [--runs 3] [--count]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
trunk build --release
(cd bench/browser && npm ci --no-audit --no-fund --silent)
exec node bench/browser/bench.mjs "$@"
