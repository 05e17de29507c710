#!/usr/bin/env bash
# Reproduces every text-path number in bench/README.md (about 5 minutes and 5 GB of /tmp):
#   bash bench/run_text.sh [WORK_DIR=/tmp/doppel-bench]
# Run it on an otherwise idle machine; it is a benchmark, not a test, and asserts nothing about
# time. Each program checks its results before it times anything.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/doppel-bench}
source bench/common.sh

echo "== tokenize + shingle + MinHash (one core)"
"$bin/sketch_bench" --benchmark_min_time=1 2>&1 | grep -E '^(tokenize|minhash|sketch)'

echo "== quality suite (real prose on this machine)"
"$bin/quality_text" "$work/quality" 1000

echo "== generated corpus: 1,000,000 documents of ~1 KB"
bench_corpus_1m
ls -l "$work/corpus-1m.jsonl"
rm -rf "$work/idx-1m"
/usr/bin/time -f "build: %e s wall, peak RSS %M KB" "$bin/doppel-index" build --index "$work/idx-1m" "$work/corpus-1m.jsonl"
du -sh "$work/idx-1m"

echo "== Filter::Check latency on the 1M-document index (as built, then compacted)"
"$bin/check_latency" "$work/idx-1m" 2000 1
"$bin/check_latency" "$work/idx-1m" 2000 2
/usr/bin/time -f "compact: %e s wall, peak RSS %M KB" "$bin/doppel-index" compact --index "$work/idx-1m"
"$bin/check_latency" "$work/idx-1m" 2000 1
