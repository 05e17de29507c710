#!/usr/bin/env bash
# Gathers common Rust code for a common-code index (IndexOptions::common_code, `--common-index`):
# twenty crates that neither bench/code_corpus.sh's protected regex crates nor its other/rust
# crates are, from Debian 12's librust-*-dev packages (fetched with apt-get download and
# unpacked, not installed; nothing committed), flat in DIR (about 690 files, 8 MB):
#   bash bench/common_code_corpus.sh [DIR=/tmp/doppel-common-rust]
# Then, as in bench/README.md ("Scan: a common-code index"):
#   build/bin/doppel-index build --index /tmp/doppel-common-rust-idx /tmp/doppel-common-rust
#   build/bin/doppel-filter scan --index IDX --common-index /tmp/doppel-common-rust-idx --report R INPUT...
set -euo pipefail
out=${1:-/tmp/doppel-common-rust}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"  # apt-get download writes here as the _apt user
debs=(librust-futures-util-dev librust-bytes-dev librust-log-dev librust-anyhow-dev librust-hashbrown-dev
  librust-indexmap-dev librust-num-traits-dev librust-smallvec-dev librust-memchr-dev librust-url-dev
  librust-chrono-dev librust-time-dev librust-toml-dev librust-hyper-dev librust-http-dev
  librust-crossbeam-channel-dev librust-rayon-core-dev librust-proc-macro2-dev librust-quote-dev
  librust-thiserror-impl-dev)
mkdir -p "$tmp/debs"
if ! (cd "$tmp/debs" && apt-get download -qq "${debs[@]}" 2>/dev/null); then
  apt-get update -qq && (cd "$tmp/debs" && apt-get download -qq "${debs[@]}")
fi
for d in "$tmp"/debs/*.deb; do dpkg-deb -x "$d" "$tmp/deb"; done
find "$tmp/deb" -name '*.rs' -type f -print0 | sort -z | while IFS= read -r -d '' f; do
  name=${f#"$tmp"/deb/}
  cp "$f" "$out/${name//\//_}"
done
echo "$(find "$out" -type f | wc -l) files in $out"
