#!/usr/bin/env bash
# Native CPU training speed of the lab's CNN: convlab (burn-flex) beside Keras (tensorflow-cpu,
# pinned) and PyTorch (Debian's python3-torch, CPU) in the same run, same data, same batch size.
# Prints a Markdown table for BENCHMARKS.md.
#   scripts/bench-cpu.sh [EPOCHS] [BATCH_SIZES...]     (defaults: 1 epoch, batch 32 and 128)
#   RUNS=N scripts/bench-cpu.sh ...                    (default 3: medians of N alternating runs)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
EPOCHS="${1:-1}"; shift || true
BATCHES=("${@:-32}"); [ $# -eq 0 ] && BATCHES=(32 128)
RUNS="${RUNS:-3}"
TF_VERSION=2.20.0
VENV="$HOME/.cache/convlab/keras-venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c "import tensorflow" 2>/dev/null || "$VENV/bin/pip" install -q "tensorflow-cpu==$TF_VERSION"
# PyPI's torch for Linux is the multi-GB CUDA build; Debian packages a CPU one.
/usr/bin/python3 -c "import torch" 2>/dev/null || apt-get install -y -q python3-torch >/dev/null
cargo build --release -p convlab-cli -q
CONVLAB="$CARGO_TARGET_DIR/release/convlab"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "median of $RUNS runs, convlab, Keras and PyTorch alternating"
echo
echo "| batch | convlab samples/s | Keras samples/s | PyTorch samples/s | convlab / Keras | convlab / PyTorch | convlab test acc | Keras test acc | PyTorch test acc |"
echo "|---|---|---|---|---|---|---|---|---|"
median() { python3 -c 'import statistics, sys; print(statistics.median(float(v) for v in sys.argv[1:]))' "$@"; }
for batch in "${BATCHES[@]}"; do
  ours_runs=(); keras_runs=(); torch_runs=()
  for _ in $(seq "$RUNS"); do
    ours=$("$CONVLAB" train --preset cnn --epochs "$EPOCHS" --batch-size "$batch" --data "$DATA_DIR" --json |
      python3 -c '
import json, sys
ev = [json.loads(l) for l in sys.stdin]
ep = [e for e in ev if e["event"] == "epoch"]
fin = [e for e in ev if e["event"] == "finished"][0]
print(max(e["samples"] / e["seconds"] for e in ep), fin["accuracy"])')
    keras=$("$VENV/bin/python" bench/keras_lab.py --data "$DATA_DIR" --epochs "$EPOCHS" --batch-size "$batch" |
      python3 -c '
import json, sys
r = json.loads(sys.stdin.read().strip().splitlines()[-1])
print(max(r["samples_per_second"]), r["test_accuracy"])')
    torch=$(/usr/bin/python3 bench/torch_lab.py --data "$DATA_DIR" --epochs "$EPOCHS" --batch-size "$batch" |
      python3 -c '
import json, sys
r = json.loads(sys.stdin.read().strip().splitlines()[-1])
print(max(r["samples_per_second"]), r["test_accuracy"])')
    read -r ours_sps ours_acc <<<"$ours"
    read -r keras_sps keras_acc <<<"$keras"
    read -r torch_sps torch_acc <<<"$torch"
    ours_runs+=("$ours_sps"); keras_runs+=("$keras_sps"); torch_runs+=("$torch_sps")
  done
  # The accuracies shown are the last run's (convlab's is the same in every run: fixed seeds and
  # summation order; multithreaded Keras may differ in the last digits); speeds are medians.
  ours_sps=$(median "${ours_runs[@]}"); keras_sps=$(median "${keras_runs[@]}")
  torch_sps=$(median "${torch_runs[@]}")
  python3 -c "print(f'| $batch | {$ours_sps:.0f} | {$keras_sps:.0f} | {$torch_sps:.0f} | {$ours_sps/$keras_sps:.2f}x | {$ours_sps/$torch_sps:.2f}x | {$ours_acc:.4f} | {$keras_acc:.4f} | {$torch_acc:.4f} |')"
done
