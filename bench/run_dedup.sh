#!/usr/bin/env bash
# Deduplication benchmarks (numbers in bench/README.md): the quality suite over real prose, then
# `doppel-index dedup` end to end on the generated corpus of bench/run_text.sh at 10k, 100k and
# 1M documents (and 1M again under a 256 MB memory limit for bucket tuples).
#   bash bench/run_dedup.sh [WORK_DIR=/tmp/doppel-bench]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/doppel-bench}
source bench/common.sh

echo "== quality suite (planted clusters over real prose)"
"$bin/quality_dedup" "$work/quality-dedup" 1500

echo "== speed: generated corpus"
bench_corpus_1m
head -n 10000 "$work/corpus-1m.jsonl" > "$work/corpus-10k.jsonl"
head -n 100000 "$work/corpus-1m.jsonl" > "$work/corpus-100k.jsonl"
run() {  # LABEL INPUT [ARGS...]
  local label=$1 input=$2
  shift 2
  rm -rf "$work/dedup-out"
  local bytes
  bytes=$(stat -c %s "$input")
  /usr/bin/time -f "%e %M %P" -o "$work/time.txt" "$bin/doppel-index" dedup --quiet --output "$work/dedup-out" "$@" "$input"
  read -r secs rss cpu < "$work/time.txt"
  echo "$label: $(awk -v b="$bytes" -v s="$secs" 'BEGIN{printf "%.1f MB in %.2f s = %.1f MB/s", b/1e6, s, b/1e6/s}'), peak RSS $((rss / 1024)) MB, CPU $cpu; $(grep -o '"documents":[0-9]*,"kept":[0-9]*' "$work/dedup-out/stats.json")"
}
run "10k documents" "$work/corpus-10k.jsonl"
run "100k documents" "$work/corpus-100k.jsonl"
run "1M documents" "$work/corpus-1m.jsonl"
run "1M documents, --memory-limit 256M" "$work/corpus-1m.jsonl" --memory-limit 256M
run "1M documents, --preset aggressive" "$work/corpus-1m.jsonl" --preset aggressive
