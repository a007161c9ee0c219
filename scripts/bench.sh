#!/usr/bin/env bash
# Every benchmark of the performance issue in one run, then its targets checked against this
# run's figures (bench/targets.py). About 45 minutes on the 2-core development machine.
#   scripts/bench.sh [RESULTS_DIR]      (default: bench-results/<date>; git-ignored)
# Writes there: browser.md (convlab vs TensorFlow.js and jax-js in headless Chromium, batch 32
# and 128), step-cost.md (each one's WebGPU calls per training step), choice.md (the automatic
# backend choice's timings), workers.md (the CPU backend on one worker and on one per core),
# memory.md (the CPU paths' memory over 20 epochs), cpu.md (native convlab vs Keras and PyTorch), wasm-sizes.txt,
# gpu.md (native burn-wgpu, only where nvidia-smi finds a GPU) and targets.md, which it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-bench-results/$(date -u +%Y-%m-%dT%H%M)}"
mkdir -p "$OUT"

echo "== browser (builds the page; log: $OUT/browser.log)"
# A failure here (a browser crash) is reported and the native half still runs.
scripts/bench-browser.sh --batch 32,128 --samples 640 --epochs 3 --runs 3 \
  > "$OUT/browser.md" 2> "$OUT/browser.log" || echo "browser benchmark failed: see $OUT/browser.log"
echo "== WebGPU calls per training step (convlab, TF.js, jax-js; counted, not timed)"
node bench/browser/bench.mjs --count --batch 32,128 --samples 320 --epochs 3 \
  > "$OUT/step-cost.md" 2>> "$OUT/browser.log" || echo "step-cost benchmark failed: see $OUT/browser.log"
echo "== the automatic backend choice (each model's WebGPU and CPU timings, as the page makes them)"
node bench/browser/bench.mjs --choice --batch 32,128 \
  > "$OUT/choice.md" 2>> "$OUT/browser.log" || echo "choice benchmark failed: see $OUT/browser.log"
echo "== the CPU backend on one worker and on one per core (and separate pages, the ceiling)"
node bench/browser/bench.mjs --workers "1,$(nproc)" --batch 32,128 --samples 4096 --epochs 2 --runs 2 \
  > "$OUT/workers.md" 2>> "$OUT/browser.log" || echo "workers benchmark failed: see $OUT/browser.log"
echo "== browser memory over 20 epochs (CPU paths)"
node bench/browser/bench.mjs --only none --samples 320 --memory-epochs 20 \
  > "$OUT/memory.md" 2>> "$OUT/browser.log" || echo "memory benchmark failed: see $OUT/browser.log"
for wasm in dist/*_bg.wasm; do
  echo "$(basename "$wasm") $(stat -c %s "$wasm") $(gzip -c "$wasm" | wc -c)"
done > "$OUT/wasm-sizes.txt"

echo "== native CPU (convlab, Keras, PyTorch)"
scripts/bench-cpu.sh > "$OUT/cpu.md"

if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  echo "== native burn-wgpu on the GPU"
  scripts/bench-gpu.sh pack >/dev/null
  scripts/bench-gpu.sh run > "$OUT/gpu.md"
fi

python3 bench/targets.py "$OUT" | tee "$OUT/targets.md"
echo "(all tables: $OUT)"
