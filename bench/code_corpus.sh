#!/usr/bin/env bash
# Gathers real code in each supported language into DIR/<language>/ for the code benchmarks
# (about 2 minutes; Debian packages and npm tarballs only, nothing committed):
#   bash bench/code_corpus.sh [DIR=/tmp/doppel-code-corpus]
# Sources: Python's standard library, the JDK's src.zip, npm's own JavaScript, rxjs (TypeScript),
# @tanstack/react-query (TSX), googletest (C++), Go's standard library (golang-1.19-src), Go's cgo
# C files and the pinned grammars' C scanners (C), the regex crate and its Debian-packaged
# dependencies (Rust), Ruby's standard library (ruby3.1). No packaged C# source exists on Debian 12
# or in the npm packages used here, so C# has no corpus yet.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/doppel-code-corpus}
mkdir -p "$out"
export DEBIAN_FRONTEND=noninteractive
need=()
# golang-go (gofmt), black and rustfmt are the formatters of bench/quality_code.cc's reformatted class.
for p in golang-1.19-src ruby3.1 googletest librust-regex-dev openjdk-17-source unzip golang-go black rustfmt; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
copy() {  # copy(lang, find-args...): files into $out/lang, flattened with unique names
  local lang=$1; shift
  mkdir -p "$out/$lang"
  # head ends the pipe early on large trees: no pipefail here.
  (set +o pipefail
   find "$@" -type f -print0 2>/dev/null | sort -z | head -z -n 4000 | while IFS= read -r -d '' f; do
     cp "$f" "$out/$lang/$(echo "$f" | tr '/' '_')"
   done)
}
rm -rf "${out:?}"/*
copy python /usr/lib/python3.11 -maxdepth 2 -name '*.py'
copy javascript /usr/lib/node_modules/npm -name '*.js' -size +2k
copy cpp /usr/src/googletest -name '*.cc'
copy go /usr/share/go-1.19/src -name '*.go' -not -name '*_test.go' -size +2k
copy c /usr/share/go-1.19/src /usr/share/go-1.19/misc -name '*.c'
copy c build/grammars-src -name scanner.c
copy rust /usr/share/cargo/registry -name '*.rs' -size +2k
copy ruby /usr/lib/ruby/3.1.0 -name '*.rb' -size +2k
tmp=$(mktemp -d)
unzip -q -o /usr/lib/jvm/openjdk-17/src.zip 'java.base/java/util/*' -d "$tmp/jdk"
copy java "$tmp/jdk" -name '*.java'
(cd "$tmp" && npm pack --silent rxjs@7.8.1 @tanstack/react-query@5.59.0 >/dev/null)
for t in "$tmp"/*.tgz; do tar -xzf "$t" -C "$tmp" --one-top-level="$(basename "$t" .tgz)"; done
copy typescript "$tmp"/rxjs-* -path '*/src/*' -name '*.ts' -not -name '*.d.ts'
copy tsx "$tmp"/tanstack-react-query-* -name '*.tsx'
rm -rf "$tmp"
for d in "$out"/*/; do printf '%-11s %5d files %8d KB\n' "$(basename "$d")" "$(ls "$d" | wc -l)" "$(du -sk "$d" | cut -f1)"; done
