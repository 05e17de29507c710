#!/usr/bin/env bash
# Scale-out: wall time of dedup and of a sharded index build against the number of tasks, with
# the local executor and as Slurm jobs on the single-node test cluster (scripts/slurm.sh; root).
# Input: the generated 1M-document corpus (~1 GB) split into 8 shards.
#   bash bench/run_scaleout.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work="${1:-/tmp/doppel-bench}"
source bench/common.sh
bench_corpus_1m
shards="$work/scaleout/shards"
if [ ! -f "$shards/part-7.jsonl" ]; then
  mkdir -p "$shards"
  split -n l/8 -d -a 1 --additional-suffix=.jsonl "$work/corpus-1m.jsonl" "$shards/part-"
fi
out="$work/scaleout/out"
cluster="$work/scaleout/cluster"
export SLURM_CONF
SLURM_CONF=$(bash "$root/scripts/slurm.sh" start "$cluster")
trap 'bash "$root/scripts/slurm.sh" stop "$cluster"' EXIT
echo "== $(du -sh "$shards" | cut -f1) in 8 shards"

timed() {  # timed LABEL COMMAND...
  local label="$1"
  shift
  rm -rf "$out"
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>"$work/scaleout/err.txt" || { cat "$work/scaleout/err.txt"; exit 1; }
  t1=$(date +%s.%N)
  printf '%-52s %7.1f s\n' "$label" "$(echo "$t1 - $t0" | bc)"
}

echo "== dedup"
timed "local, 1 task (2 threads)" "$bin/doppel-index" dedup --quiet --output "$out" "$shards"/*.jsonl
for n in 2 4 8; do
  timed "local, $n tasks one after another (2 threads)" "$bin/doppel-index" dedup --quiet --tasks $n --output "$out" "$shards"/*.jsonl
done
for n in 1 2 4 8; do
  timed "slurm, $n tasks of 1 CPU" "$bin/doppel-index" dedup --quiet --executor slurm --tasks $n --cpus-per-task 1 \
    --mem 2G --output "$out" "$shards"/*.jsonl
done
echo "== index build"
timed "one index (2 threads)" "$bin/doppel-index" build --quiet --index "$out" "$shards"/*.jsonl
for n in 2 4; do
  timed "local, $n shards one after another (2 threads)" "$bin/doppel-index" build --quiet --shards $n --index "$out" "$shards"/*.jsonl
done
for n in 1 2 4; do
  timed "slurm, $n shards, tasks of 1 CPU" "$bin/doppel-index" build --quiet --shards $n --executor slurm \
    --cpus-per-task 1 --mem 4G --index "$out" "$shards"/*.jsonl
done
rm -rf "$out"
