#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of outside input (crates/convlab-fuzz) with AFL++
# through cargo-afl, on stable Rust.
#
#   scripts/fuzz.sh [TARGET|all] [EXECS]
#
# Runs each target (default: all, one after the other) from its committed seeds
# (crates/convlab-fuzz/seeds/TARGET) for EXECS executions (default 1,000,000), then prints one
# line per target: executions, duration, paths found, crashes and hangs. Fails if any target
# crashed or hung; the inputs are in $CONVLAB_FUZZ_OUT/TARGET/default/{crashes,hangs}
# (default ~/.cache/convlab/fuzz). Reproduce one with
# `cargo test -p convlab-fuzz` after copying it into the target's seed folder.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

CARGO_AFL_VERSION=0.18.2
ALL=(idx idx_gz model_file layers_text model_json url_setup to_worker from_worker to_helper from_helper)
which=${1:-all}
execs=${2:-1000000}
if [ "$which" = all ]; then
  targets=("${ALL[@]}")
elif [[ " ${ALL[*]} " == *" $which "* ]]; then
  targets=("$which")
else
  echo "unknown target '$which' (use all or one of: ${ALL[*]})" >&2
  exit 2
fi

if ! cargo afl --version 2>/dev/null | grep -q "cargo-afl $CARGO_AFL_VERSION"; then
  # Builds AFL++ from source on install (needs make and a C compiler).
  cargo install --locked cargo-afl --version "$CARGO_AFL_VERSION"
fi

# cargo-afl's instrumentation flags (RUSTFLAGS) apply to every crate, burn included: build in
# a folder of its own so the shared build folder is not rebuilt over.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR}-afl"
nice cargo afl build --release -p convlab-fuzz --features afl --bin fuzz
harness="$CARGO_TARGET_DIR/release/fuzz"

out=${CONVLAB_FUZZ_OUT:-$HOME/.cache/convlab/fuzz}
mkdir -p "$out"
# No CPU-frequency or core-dump tuning needed (nor possible in a container); no UI; do not
# pin a core on a shared machine.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1

failed=0
summary=()
for t in "${targets[@]}"; do
  # A fresh corpus per run: the committed seeds are the starting point.
  rm -rf "${out:?}/$t"
  echo "== $t: $execs executions"
  start=$(date +%s)
  # -E: stop after EXECS executions; -t: an input running over 2 s is a hang; -m: 4 GB of
  # address space, so an unbounded allocation is a crash rather than a stalled machine.
  cargo afl fuzz -i "crates/convlab-fuzz/seeds/$t" -o "$out/$t" -E "$execs" -t 2000 -m 4096 \
    -- "$harness" "$t" >"$out/$t.log" 2>&1 || true
  seconds=$(($(date +%s) - start))
  stats="$out/$t/default/fuzzer_stats"
  if [ ! -f "$stats" ]; then
    tail -30 "$out/$t.log" >&2
    echo "$t: afl-fuzz did not run (log: $out/$t.log)" >&2
    failed=1
    continue
  fi
  get() { awk -F' *: *' -v k="$1" '$1 == k {print $2}' "$stats"; }
  crashes=$(get saved_crashes) hangs=$(get saved_hangs)
  line=$(printf '%-12s %9s execs  %5ss  %4s paths  %s crashes  %s hangs' "$t" "$(get execs_done)" \
    "$seconds" "$(get corpus_count)" "$crashes" "$hangs")
  echo "$line"
  summary+=("$line")
  if [ "$crashes" != 0 ] || [ "$hangs" != 0 ]; then
    echo "$t: see $out/$t/default/crashes and hangs" >&2
    failed=1
  fi
done

printf '\n== fuzzing summary\n'
printf '%s\n' "${summary[@]}"
exit $failed
