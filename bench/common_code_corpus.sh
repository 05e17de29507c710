#!/usr/bin/env bash
# Gathers common code for a common-code index (IndexOptions::common_code, `--common-index`):
# twenty libraries that bench/code_corpus.sh neither protects nor scans, from Debian 12's
# packages (fetched with apt-get download and unpacked, not installed; nothing committed), flat
# in DIR:
#   bash bench/common_code_corpus.sh [DIR=/tmp/doppel-common-rust] [LANG=rust]
#   rust  twenty crates (librust-*-dev): about 690 files, 8 MB
#   go    twenty Go libraries (golang-*-dev): about 780 files, 7 MB
# Then, as in bench/README.md ("Scan: a common-code index"):
#   build/bin/doppel-index build --index /tmp/doppel-common-rust-idx /tmp/doppel-common-rust
#   build/bin/doppel-filter scan --index IDX --common-index /tmp/doppel-common-rust-idx --report R INPUT...
set -euo pipefail
out=${1:-/tmp/doppel-common-rust}
lang=${2:-rust}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"  # apt-get download writes here as the _apt user
case "$lang" in
  rust) ext=rs
    debs=(librust-futures-util-dev librust-bytes-dev librust-log-dev librust-anyhow-dev librust-hashbrown-dev
      librust-indexmap-dev librust-num-traits-dev librust-smallvec-dev librust-memchr-dev librust-url-dev
      librust-chrono-dev librust-time-dev librust-toml-dev librust-hyper-dev librust-http-dev
      librust-crossbeam-channel-dev librust-rayon-core-dev librust-proc-macro2-dev librust-quote-dev
      librust-thiserror-impl-dev) ;;
  go) ext=go
    debs=(golang-github-pkg-errors-dev golang-github-google-uuid-dev golang-github-spf13-pflag-dev
      golang-github-gorilla-websocket-dev golang-github-spf13-viper-dev golang-github-spf13-afero-dev
      golang-github-fsnotify-fsnotify-dev golang-github-mattn-go-isatty-dev golang-github-hashicorp-go-multierror-dev
      golang-github-hashicorp-golang-lru-dev golang-github-json-iterator-go-dev golang-github-urfave-cli-dev
      golang-github-burntsushi-toml-dev golang-github-pelletier-go-toml-dev golang-github-go-logr-logr-dev
      golang-github-cespare-xxhash-dev golang-github-klauspost-compress-dev golang-github-golang-protobuf-1-5-dev
      golang-github-google-btree-dev golang-github-rs-zerolog-dev) ;;
  *) echo "common_code_corpus.sh: unknown language $lang (rust or go)" >&2; exit 2 ;;
esac
mkdir -p "$tmp/debs"
if ! (cd "$tmp/debs" && apt-get download -qq "${debs[@]}" 2>/dev/null); then
  apt-get update -qq && (cd "$tmp/debs" && apt-get download -qq "${debs[@]}")
fi
for d in "$tmp"/debs/*.deb; do dpkg-deb -x "$d" "$tmp/deb"; done
find "$tmp/deb" -name "*.$ext" -type f -print0 | sort -z | while IFS= read -r -d '' f; do
  name=${f#"$tmp"/deb/}
  cp "$f" "$out/${name//\//_}"
done
echo "$(find "$out" -type f | wc -l) files in $out"
