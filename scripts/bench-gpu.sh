#!/usr/bin/env bash
# Native burn-wgpu training of the lab's CNN on a real GPU: the performance issue's "real GPU"
# row (target: one epoch of 60,000 images at batch 32 in at most 1 s). A GPU machine without
# Rust, network or a Vulkan loader is enough, as this runs in two halves:
#
#   scripts/bench-gpu.sh pack    here: builds the `convlab` binary and packs it, the real
#                                dataset and the Vulkan/EGL loader packages into .gpu-bench/
#                                (git-ignored; ~50 MB)
#   scripts/bench-gpu.sh run     there, from a copy of the repository holding .gpu-bench/:
#                                unpacks, prints the card, trains EPOCHS (default 2) epochs at
#                                batch 32 and 128, RUNS (default 1) times each, and prints a
#                                Markdown table
#
# `run` also works here (Vulkan on the CPU through Mesa's llvmpipe, slowly: LIMIT=320 trains on
# the first 320 images only), which is how the script itself is checked.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh # DATA_DIR (CONVLAB_DATA overrides it), CARGO_TARGET_DIR
PACK=.gpu-bench
EPOCHS="${EPOCHS:-2}"
RUNS="${RUNS:-1}"
LIMIT="${LIMIT:-}"

pack() {
  cargo build --release -p convlab-cli -q
  rm -rf "$PACK" && mkdir -p "$PACK/data" "$PACK/debs"
  strip -o "$PACK/convlab" "$CARGO_TARGET_DIR/release/convlab"
  gzip -9 "$PACK/convlab"
  cp "$DATA_DIR"/*-ubyte.gz "$PACK/data/"
  # The loaders wgpu opens at run time (the NVIDIA driver there brings its own ICD).
  local lists=/tmp/convlab-apt-amd64
  mkdir -p "$lists/partial"
  local apt=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
  apt-get "${apt[@]}" update -qq
  (cd "$PACK/debs" && apt-get "${apt[@]}" download -qq libvulkan1 libegl1 libglvnd0)
  du -sh "$PACK"
}

run() {
  [ -f "$PACK/convlab.gz" ] || { echo "no $PACK/convlab.gz: run 'scripts/bench-gpu.sh pack' first" >&2; exit 1; }
  # (grep without -q: reading all of ldconfig's output spares it a SIGPIPE under pipefail.)
  if ! ldconfig -p | grep libvulkan.so.1 >/dev/null; then
    for deb in "$PACK"/debs/*.deb; do dpkg -x "$deb" /; done
    ldconfig
  fi
  # The driver's Vulkan ICD where the device docs say it is, when the loader finds none itself.
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES="${VK_DRIVER_FILES:-$icd}"
  local bin=/tmp/convlab-gpu-bench
  gunzip -c "$PACK/convlab.gz" > "$bin" && chmod +x "$bin"
  local data="$PACK/data"
  [ -d "$data" ] || data="$DATA_DIR"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  if command -v nvidia-smi >/dev/null; then
    echo "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)"
  fi
  echo "settings: lab CNN, $EPOCHS epochs${LIMIT:+ of the first $LIMIT images}, --backend wgpu, $RUNS run(s) per batch size"
  echo
  echo "| batch | backend | epoch 1 s (kernel compile + autotune) | last epoch s | samples/s (last epoch) | test accuracy |"
  echo "|---|---|---|---|---|---|"
  for batch in 32 128; do
    for _ in $(seq "$RUNS"); do
      "$bin" train --preset cnn --backend wgpu --epochs "$EPOCHS" --batch-size "$batch" \
        --data "$data" ${LIMIT:+--limit "$LIMIT" --test-limit 1000} --json |
        python3 -c '
import json, sys
batch = sys.argv[1]
events = [json.loads(line) for line in sys.stdin]
started = next(e for e in events if e["event"] == "started")
epochs = [e for e in events if e["event"] == "epoch"]
final = next(e for e in events if e["event"] == "finished")
last = epochs[-1]
row = [batch, started["backend"], "%.2f" % epochs[0]["seconds"], "%.2f" % last["seconds"],
       "%.0f" % (last["samples"] / last["seconds"]), "%.4f" % final["accuracy"]]
print("| " + " | ".join(row) + " |")' "$batch" ||
        echo "| $batch | failed (see the output above) | | | | |"
    done
  done
}

case "${1:-}" in
  pack) pack ;;
  run) run ;;
  *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
