# shellcheck shell=bash disable=SC2034
# Shared settings for the scripts; sourced, not run.
# One persistent build folder outside the clone: burn takes ~30 min of CPU per target to build,
# and CI clones main afresh each run.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/convlab/target}"
export PATH="$HOME/.cargo/bin:$PATH"
# Exactly the wasm-bindgen in Cargo.lock (pinned with = in Cargo.toml).
WASM_BINDGEN_VERSION=0.2.130
WASM_PACK_VERSION=0.15.1
TRUNK_VERSION=0.21.14
WASM_OPT_VERSION=0.116.1
DATA_DIR="${CONVLAB_DATA:-/usr/share/datasets/fashion-mnist}"
