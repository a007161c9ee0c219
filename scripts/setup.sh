#!/usr/bin/env bash
# Installs what convlab needs on a Debian machine; skips whatever is already there, so a warm
# machine is ready in seconds. Needs root (or sudo) for apt.
#
#   scripts/setup.sh        everything: the page and every test (scripts/test.sh)
#   scripts/setup.sh page     only what building the page needs (scripts/run.sh): no Chromium,
#                             Node, wasm-pack or wasm-opt
#   scripts/setup.sh publish  the page plus wasm-opt, which shrinks the published modules
#                             (scripts/publish.sh)
#   scripts/setup.sh cli      only what the native command line needs (scripts/cli.sh): a C
#                             compiler and the dataset
#
# The tools (built from crates.io source: their own installers would download prebuilt
# binaries, which this machine cannot) and the page's two WebAssembly modules build side by
# side; Trunk then finds the modules built. README, "Set-up times", has the measured figures.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
mode="${1:-all}"
case "$mode" in
  all | page | publish | cli) ;;
  *) echo "setup: the mode is 'all' (the default), 'page', 'publish' or 'cli', not '$mode'" >&2; exit 2 ;;
esac

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
# A C compiler: Rust's linker on Linux, and mimalloc (the CLI's allocator) is C; wasm-opt
# builds binaryen, which is C++.
command -v cc >/dev/null || missing+=(gcc)
case "$mode" in all | publish) command -v c++ >/dev/null || missing+=(g++) ;; esac
command -v curl >/dev/null || missing+=(curl)
if [ ! -f "$DATA_DIR/train-images-idx3-ubyte.gz" ] && [ "$DATA_DIR" = /usr/share/datasets/fashion-mnist ]; then
  missing+=(dataset-fashion-mnist)
fi
if [ "$mode" = all ]; then
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  # Node runs the end-to-end tests (tests/e2e, playwright-core driving Debian's Chromium);
  # Python's http.server is the plain static server the published bundle is tested on.
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  command -v python3 >/dev/null || missing+=(python3)
  command -v shellcheck >/dev/null || missing+=(shellcheck)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  # The dataset package is Debian's copy of Fashion-MNIST; where it is missing (other
  # distributions), fetch-data.sh downloads the upstream files instead.
  if ! $SUDO apt-get install -y -qq "${missing[@]}"; then
    without_data=()
    for package in "${missing[@]}"; do
      [ "$package" = dataset-fashion-mnist ] || without_data+=("$package")
    done
    [ ${#without_data[@]} -eq 0 ] || $SUDO apt-get install -y -qq "${without_data[@]}"
  fi
fi

source scripts/jobs.sh
job data "checking Fashion-MNIST (downloading it where Debian's package is missing)" scripts/fetch-data.sh
if [ "$mode" = cli ]; then
  wait_jobs
  echo "setup: ready ($mode)"
  exit 0
fi

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

installed() { cargo install --list | grep -q "^$1 v$2:"; }
# --locked first (the versions its authors tested); if the registry no longer serves one of
# those (seen here: wasm-bindgen-cli 0.2.130's lock names a webpki-roots it lacks), let cargo
# pick the newest compatible ones. Each tool builds in a folder of its own, apart from the
# page's, so they build at the same time; it is removed once the tool is installed.
install() {
  local folder
  folder="$(dirname "$CARGO_TARGET_DIR")/tools/$1"
  CARGO_TARGET_DIR="$folder" cargo install --locked "$1" --version "$2" \
    || CARGO_TARGET_DIR="$folder" cargo install "$1" --version "$2"
  rm -rf "$folder"
}
# Exactly the wasm-bindgen in Cargo.lock; Trunk 0.21 (0.22 needs a newer rustc than 1.95);
# wasm-opt is binaryen 116, which Trunk.toml names (Debian's binaryen 108 breaks rustc 1.95's
# output).
building() { echo "building $1 $2 from crates.io"; }
installed wasm-bindgen-cli "$WASM_BINDGEN_VERSION" || job wasm-bindgen-cli \
  "$(building wasm-bindgen-cli "$WASM_BINDGEN_VERSION")" install wasm-bindgen-cli "$WASM_BINDGEN_VERSION"
installed trunk "$TRUNK_VERSION" || job trunk \
  "$(building trunk "$TRUNK_VERSION")" install trunk "$TRUNK_VERSION"
# The local page (run.sh) is served without wasm-opt: it only shrinks what is downloaded, and
# building binaryen is the longest tool build.
if [ "$mode" != page ]; then
  installed wasm-opt "$WASM_OPT_VERSION" || job wasm-opt \
    "$(building wasm-opt "$WASM_OPT_VERSION") (binaryen 116, C++)" install wasm-opt "$WASM_OPT_VERSION"
fi
if [ "$mode" = all ]; then
  installed wasm-pack "$WASM_PACK_VERSION" || job wasm-pack \
    "$(building wasm-pack "$WASM_PACK_VERSION")" install wasm-pack "$WASM_PACK_VERSION"
fi
# The page's modules, built exactly as Trunk builds them (one cargo run per module: built
# together, cargo would unify their features and Trunk would build them again). A no-op when
# they are already built.
page_modules() {
  # The local page (run.sh) uses the release profile; the published one (`trunk build
  # --release`: publish.sh, the tests) the size-optimised `web` profile (Cargo.toml).
  local crate profile profiles=(release)
  [ "$mode" = page ] || profiles+=(web)
  for profile in "${profiles[@]}"; do
    for crate in convlab-web-cpu convlab-web-gpu; do
      cargo build --profile "$profile" --target=wasm32-unknown-unknown \
        --manifest-path "crates/$crate/Cargo.toml"
    done
  done
}
burn_built=0
compgen -G "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/deps/libburn_wgpu-*" >/dev/null && burn_built=1
job page-modules "building the page's two WebAssembly modules (burn for wasm32, with and without WebGPU)" \
  page_modules
# How long all of it takes (README, "Set-up times"): burn for wasm32 is the longest step, then
# the tools (wasm-opt's C++ the longest of them).
if [ "$burn_built" = 0 ] && [ "$mode" = page ]; then
  wait_jobs "15 to 40 minutes"
elif [ "$burn_built" = 0 ]; then
  wait_jobs "25 to 60 minutes"
elif [ "${JOB_PID[wasm-opt]+set}" ]; then
  wait_jobs "30 to 40 min"
else
  wait_jobs
fi

# The page's default dataset folder (www/data, copied into dist/data by Trunk) points at the
# checked files.
mkdir -p www/data
for file in "$(realpath "$DATA_DIR")"/*-ubyte.gz; do
  ln -sf "$file" www/data/
done
echo "setup: ready ($mode)"
