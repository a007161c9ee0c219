#!/usr/bin/env bash
# Installs what convlab needs on a Debian machine; skips whatever is already there, so a warm
# machine is ready in seconds. Needs root (or sudo) for apt.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
# Node runs the end-to-end tests (tests/e2e, playwright-core driving Debian's Chromium).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
# A C compiler: Rust's linker on Linux, and mimalloc (the CLI's allocator) is C.
command -v cc >/dev/null || missing+=(gcc)
if [ ! -f "$DATA_DIR/train-images-idx3-ubyte.gz" ] && [ "$DATA_DIR" = /usr/share/datasets/fashion-mnist ]; then
  missing+=(dataset-fashion-mnist)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  # The dataset package is Debian's copy of Fashion-MNIST; where it is missing, fetch-data.sh
  # downloads the upstream files instead.
  $SUDO apt-get install -y -qq "${missing[@]}" || $SUDO apt-get install -y -qq chromium chromium-driver
fi

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

installed() { cargo install --list | grep -q "^$1 v$2:"; }
# --locked first (the versions its authors tested); if the registry no longer serves one of
# those (seen here: wasm-bindgen-cli 0.2.130's lock names a webpki-roots it lacks), let cargo
# pick the newest compatible ones.
install() { cargo install --locked "$1" --version "$2" || cargo install "$1" --version "$2"; }
# Built from crates.io: their own installers would download prebuilt binaries.
installed wasm-bindgen-cli "$WASM_BINDGEN_VERSION" || install wasm-bindgen-cli "$WASM_BINDGEN_VERSION"
installed wasm-pack "$WASM_PACK_VERSION" || install wasm-pack "$WASM_PACK_VERSION"
# Trunk builds the page (0.22 needs a newer rustc than 1.95); wasm-opt is binaryen 116, which
# Trunk.toml names (Debian's binaryen 108 breaks rustc 1.95's output).
installed trunk "$TRUNK_VERSION" || install trunk "$TRUNK_VERSION"
installed wasm-opt "$WASM_OPT_VERSION" || install wasm-opt "$WASM_OPT_VERSION"

scripts/fetch-data.sh
# The page's default dataset folder (www/data, copied into dist/data by Trunk) points at the
# checked files.
mkdir -p www/data
for file in "$(realpath "$DATA_DIR")"/*-ubyte.gz; do
  ln -sf "$file" www/data/
done
