#!/usr/bin/env bash
# A 500 MB code index (numbers in bench/README.md): real code from Debian packages — Go's standard
# library (golang-1.19-src), the JDK's sources (openjdk-17-source), Python's and Ruby's standard
# libraries, then the Linux kernel's C (linux-source-6.1) up to 500 MB — indexed with
# `doppel-index build` on 2 threads (wall time, peak memory), compacted, then 100-line code answers checked
# against it (bench/code_latency.cc: p50/p99 on one thread; new code from bench/code_corpus.sh's
# other/ packages).
#   bash bench/run_code_index.sh [WORK_DIR=/tmp/doppel-bench] [CODE_CORPUS=/tmp/doppel-code-corpus]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/doppel-bench}
code=${2:-/tmp/doppel-code-corpus}
source bench/common.sh
[ -d "$code/other" ] || bash bench/code_corpus.sh "$code"
export DEBIAN_FRONTEND=noninteractive
need=()
for p in golang-1.19-src openjdk-17-source ruby3.1 linux-source-6.1 unzip xz-utils time; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

corpus=$work/code-500m
budget=$((500 * 1000 * 1000))
if [ ! -f "$corpus/.complete" ]; then
  echo "== gathering $((budget / 1000000)) MB of code in $corpus"
  rm -rf "$corpus" && mkdir -p "$corpus"
  tmp=$(mktemp -d -p "$work")
  cp -r /usr/share/go-1.19/src "$corpus/go"
  unzip -q /usr/lib/jvm/openjdk-17/src.zip '*.java' -d "$corpus/java"
  cp -r /usr/lib/python3.11 "$corpus/python"
  cp -r /usr/lib/ruby/3.1.0 "$corpus/ruby"
  # Only source files of the indexed languages; no file over 1 MB (generated tables).
  find "$corpus" -type f ! \( -name '*.go' -o -name '*.java' -o -name '*.py' -o -name '*.rb' \) -delete
  find "$corpus" -type f -size +1000k -delete
  tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$tmp" --wildcards '*.c' '*.h'
  used=$(du -sb "$corpus" | cut -f1)
  mkdir -p "$corpus/linux"
  (set +o pipefail
   find "$tmp" -type f -size -1000k \( -name '*.c' -o -name '*.h' \) -printf '%s %p\n' | sort -k2 |
     while read -r size f; do
       [ $((used + size)) -le "$budget" ] || break
       used=$((used + size))
       rel=${f#"$tmp"/}
       mkdir -p "$corpus/linux/$(dirname "$rel")"
       mv "$f" "$corpus/linux/$rel"
     done)
  rm -rf "$tmp"
  touch "$corpus/.complete"
fi
for d in "$corpus"/*/; do
  printf '  %-7s %7d files %6d MB\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)" "$(($(du -sb "$d" | cut -f1) / 1000000))"
done
echo "  total   $(find "$corpus" -type f | wc -l) files $(($(du -sb "$corpus" | cut -f1) / 1000000)) MB"

echo "== doppel-index build, 2 threads"
rm -rf "$work/idx-code"
/usr/bin/time -f "%e s, peak %M KB" -o "$work/time.txt" \
  "$bin/doppel-index" build --quiet --threads 2 --on-error skip --index "$work/idx-code" "$corpus" ||
  [ $? -eq 1 ]  # 1: some files were rejected (reported above), the rest indexed
echo "  build: $(cat "$work/time.txt")"
"$bin/doppel-index" stats --index "$work/idx-code"
# A served index is compacted once built (a fresh bulk load leaves overlapping files that every
# read consults): checks against a fresh one were 0.3-0.4 ms slower at p50, 0.4-0.8 ms at p99.
/usr/bin/time -f "  compact: %e s" "$bin/doppel-index" compact --index "$work/idx-code"

echo "== Filter::Check of 100-line code answers"
/usr/bin/time -f "  peak %M KB" "$bin/code_latency" "$work/idx-code" "$code/other" 1000

# The same with a token cache that holds the answers' candidates (doppel-filter
# --token-cache-tokens; the default holds 4 million tokens): the second check of each answer then
# finds them decoded. Each run prints its peak memory.
echo "== the same, with a token cache of 32 million tokens"
DOPPEL_TOKEN_CACHE=33554432 /usr/bin/time -f "  peak %M KB" "$bin/code_latency" "$work/idx-code" "$code/other" 1000
