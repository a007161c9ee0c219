#!/usr/bin/env bash
# Builds the page and packs it as a versioned, self-contained static site, ready to copy to any
# static host (at any path: the page uses relative URLs only):
#
#   scripts/publish.sh [--out DIR] [--no-data]
#
# writes DIR/convlab-VERSION/ (the page, both wasm modules, the worker and the service worker,
# the course example, data/ with Fashion-MNIST unless --no-data, README.txt, VERSION and
# SHA256SUMS, a checksum of every file) and DIR/convlab-VERSION.tar.gz with its .sha256.
# DIR is publish/ unless given. VERSION is the workspace's version and the commit
# (0.1.0-g1a2b3c4; "-dirty" when tracked files have changes).
set -euo pipefail
out="$(dirname "$0")/../publish"
with_data=1
while [ $# -gt 0 ]; do
  case "$1" in
    # Relative to the folder it is run from.
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --no-data) with_data=0; shift ;;
    *) echo "publish: unknown argument '$1' (usage: scripts/publish.sh [--out DIR] [--no-data])" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."

scripts/setup.sh publish
source scripts/env.sh

crate_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
version="$crate_version-g$(git rev-parse --short=7 HEAD)"
git diff --quiet HEAD -- || version="$version-dirty"
name="convlab-$version"
# The commit's time stamps every file of the archive.
commit_time=$(git log -1 --format=%ct)

echo "publish: building the page (trunk build --release)"
trunk build --release

site="$out/$name"
rm -rf "$site" "$site.tar.gz" "$site.tar.gz.sha256"
mkdir "$site"
# -L: www/data holds links to the checked dataset files; the bundle holds the files.
(cd dist && find . -mindepth 1 -maxdepth 1 ! -name '.*' -exec cp -RL {} "$site/" \;)
[ "$with_data" = 1 ] || rm -rf "$site/data"
echo "$version" >"$site/VERSION"

if [ "$with_data" = 1 ]; then
  data_note="data/ holds Fashion-MNIST (the four IDX .gz files), which the page loads by default."
else
  data_note="This bundle has no dataset: open the page with ?data=URL, a folder (relative, or on
another host with CORS) holding the four Fashion-MNIST IDX .gz files, for example
index.html?data=https://example.org/fashion-mnist/"
fi
cat >"$site/README.txt" <<EOF
convlab $version: a convolutional-network lab that trains in the browser.

Copy this folder, as it is, to any static web host, at any path (GitHub Pages, GitLab
Pages, Netlify, a university web space, an S3 bucket...). Open index.html there.
Nothing runs on the server; the page trains in the student's browser.

$data_note

- Serve .gz files as they are (no Content-Encoding: gzip), as static hosts do by default,
  and .wasm as application/wasm.
- The service worker (sw.js) needs https (or localhost) to keep the page working offline.
- course.html is an example course page embedding two differently set-up labs.
  Embedding, URL parameters and events: the project's README, "Course sites".
- SHA256SUMS lists every file's SHA-256: sha256sum -c SHA256SUMS checks a copy.
EOF

sums=$(cd "$site" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum)
echo "$sums" >"$site/SHA256SUMS"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$commit_time" --mode=u+rwX,go+rX,go-w \
  -C "$out" -cf - "$name" | gzip -9n >"$site.tar.gz"
(cd "$out" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")

echo "publish: $site/ ($(du -sh "$site" | cut -f1), $(wc -l <"$site/SHA256SUMS") files, checksums in SHA256SUMS)"
echo "publish: $site.tar.gz ($(du -h "$site.tar.gz" | cut -f1)), SHA-256 in $name.tar.gz.sha256"
