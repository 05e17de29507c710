#!/usr/bin/env bash
# Deduplication benchmarks (numbers in bench/README.md): the quality suite over real prose, then
# `doppel-index dedup` end to end on the generated corpus of bench/run_text.sh at 10k, 100k and
# 1M documents (and 1M again under a 256 MB memory limit for bucket tuples, and in a 384 MB
# memory cgroup when one can be made).
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
# Removal-heavy: every document twice (the 100k corpus, then again), so half are exact copies
# and 100,000 clusters and removals are written.
cat "$work/corpus-100k.jsonl" "$work/corpus-100k.jsonl" > "$work/corpus-100k-twice.jsonl"
run "200k documents, half exact copies" "$work/corpus-100k-twice.jsonl"
echo "  clusters.jsonl $(wc -l < "$work/dedup-out/clusters.jsonl") lines, removed.jsonl $(wc -l < "$work/dedup-out/removed.jsonl") lines"

# A corpus larger than the memory the run may use: the 1.1 GB corpus with --memory-limit 128M,
# in a memory cgroup (v1, as root) capped at 384 MB, page cache included; the kept shard and the
# counts must equal the unconstrained run's.
cg=/sys/fs/cgroup/memory/doppel-bench-dedup
if [ "$(id -u)" -eq 0 ] && [ -w /sys/fs/cgroup/memory ] && mkdir -p "$cg" 2>/dev/null &&
   echo $((384 << 20)) > "$cg/memory.limit_in_bytes"; then
  rm -rf "$work/dedup-ref"
  "$bin/doppel-index" dedup --quiet --output "$work/dedup-ref" --memory-limit 128M "$work/corpus-1m.jsonl"
  rm -rf "$work/dedup-out"
  echo 0 > "$cg/memory.max_usage_in_bytes" 2>/dev/null || true
  /usr/bin/time -f "%e %M" -o "$work/time.txt" sh -c "echo \$\$ > $cg/cgroup.procs; exec $bin/doppel-index dedup --quiet --output $work/dedup-out --memory-limit 128M $work/corpus-1m.jsonl"
  read -r secs rss < "$work/time.txt"
  same=$(cmp -s "$work/dedup-out/corpus-1m.jsonl" "$work/dedup-ref/corpus-1m.jsonl" &&
         [ "$(grep -o '"documents.*"spilled_runs":[0-9]*' "$work/dedup-out/stats.json")" = \
           "$(grep -o '"documents.*"spilled_runs":[0-9]*' "$work/dedup-ref/stats.json")" ] && echo identical || echo DIFFERENT)
  echo "1M documents in a 384 MB memory cgroup, --memory-limit 128M: $secs s, peak RSS $((rss / 1024)) MB, cgroup peak $(( $(cat "$cg/memory.max_usage_in_bytes") >> 20 )) MB (page cache included), limit hits $(cat "$cg/memory.failcnt"); output $same to the unconstrained run's"
  rmdir "$cg" 2>/dev/null || true
else
  echo "(no writable memory cgroup: the capped run is skipped)"
fi
