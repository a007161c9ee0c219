#!/usr/bin/env bash
# Makes sure the four Fashion-MNIST files are in $DATA_DIR and are the real ones: from Debian's
# dataset-fashion-mnist package, or else downloaded from the upstream mirror. Debian recompressed
# the .gz files, so the check is on the SHA-256 of the decompressed content, which both share.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

declare -A SHA256=(
  [train-images-idx3-ubyte]=c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
  [train-labels-idx1-ubyte]=bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
  [t10k-images-idx3-ubyte]=5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
  [t10k-labels-idx1-ubyte]=0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34
)
UPSTREAM="${FASHION_MNIST_MIRROR:-http://fashion-mnist.s3-website.eu-central-1.amazonaws.com}"

for name in "${!SHA256[@]}"; do
  file="$DATA_DIR/$name.gz"
  if [ ! -f "$file" ]; then
    mkdir -p "$DATA_DIR"
    echo "fetch-data: downloading $name.gz from $UPSTREAM"
    curl -fsSL -o "$file.part" "$UPSTREAM/$name.gz"
    mv "$file.part" "$file"
  fi
  got=$(gzip -dc "$file" | sha256sum | cut -d' ' -f1)
  if [ "$got" != "${SHA256[$name]}" ]; then
    echo "fetch-data: $file does not hold the real $name (SHA-256 of its content is $got)" >&2
    exit 1
  fi
done
echo "fetch-data: Fashion-MNIST checked in $DATA_DIR"
