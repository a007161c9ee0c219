#!/usr/bin/env bash
# Times the README's run command (or its test command) as a new user meets it: a fresh clone at
# COMMIT, in a fresh HOME (no cargo registry, no installed tools, an empty build folder, no npm
# cache), with this machine's Rust toolchain and Debian packages as they are (apt is timed
# separately: see README, "Set-up times").
#
#   bench/first-run.sh run  [COMMIT]   until the page is served (then stops the server)
#   bench/first-run.sh test [COMMIT]   the whole test command
#
# Every command the scripts run is traced with a timestamp into $WORK/trace.log, so each part's
# time can be read off; the total wall and CPU time are printed at the end.
set -euo pipefail
mode="${1:?run or test}"
commit="${2:-HEAD}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${FIRST_RUN_DIR:-/tmp/convlab-first-run-$mode}"
port="${CONVLAB_PORT:-8093}"

rm -rf "$WORK"
mkdir -p "$WORK/home" "$WORK/rustbin"
git clone -q "$repo" "$WORK/convlab"
git -C "$WORK/convlab" checkout -q "$commit"
# Only the Rust toolchain is shared with this machine: rustup's proxies, pointed at its toolchains.
for tool in rustup cargo rustc rustfmt cargo-fmt cargo-clippy clippy-driver rustdoc; do
  ln -s "$(command -v rustup)" "$WORK/rustbin/$tool"
done

cd "$WORK/convlab"
start=$(date +%s)
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export HOME="$WORK/home" CONVLAB_PORT="$port"
export PATH="$WORK/rustbin:/usr/local/bin:/usr/bin:/bin"
unset CARGO_TARGET_DIR CARGO_HOME
# Trace every command of every script it starts, stamped with the seconds since the start (bash
# ignores an inherited PS4 as root, so the stamp is added as the lines arrive).
exec 9> >(while IFS= read -r line; do echo "[$(( $(date +%s) - start ))s] $line"; done >"$WORK/trace.log")
export BASH_XTRACEFD=9 SHELLOPTS
set -x
case "$mode" in
  run)
    /usr/bin/time -o "$WORK/time.txt" -f '%e s wall, %U s user, %S s system' \
      setsid scripts/run.sh >"$WORK/output.log" 2>&1 &
    runner=$!
    # Served: the WebGPU module (the last thing Trunk writes) is there.
    set +x
    until curl -sfo /dev/null "http://127.0.0.1:$port/convlab-web-gpu_bg.wasm"; do
      kill -0 "$runner" 2>/dev/null || { echo "first-run: run.sh ended before serving" >&2; exit 1; }
      sleep 5
    done
    served=$(( $(date +%s) - start ))
    # Both the release-mode command (before) and the release-profile one (after).
    pkill -INT -f "[t]runk serve .*--port $port" || true
    wait "$runner" || true
    echo "first-run: page served after ${served} s ($(( served / 60 )) min $(( served % 60 )) s)"
    ;;
  test)
    /usr/bin/time -o "$WORK/time.txt" -f '%e s wall, %U s user, %S s system' \
      scripts/test.sh >"$WORK/output.log" 2>&1
    set +x
    tail -1 "$WORK/output.log"
    ;;
  *) echo "first-run: mode is run or test, not $mode" >&2; exit 2 ;;
esac
echo "first-run: $(cat "$WORK/time.txt") (trace: $WORK/trace.log)"
