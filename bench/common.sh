# Sourced by the bench/run_*.sh scripts (from the repository root, with $work set): builds the
# benchmark tree and prints the machine; helpers for the shared generated corpus and index.
DOPPEL_BUILD_DIR=build-bench bash scripts/build.sh -DDOPPEL_BUILD_BENCH=ON -DDOPPEL_BUILD_TESTS=OFF >/dev/null
bin=build-bench/bin
mkdir -p "$work"
echo "== machine"
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, $(date -u +%F)"

# The generated corpus of 1,000,000 documents of ~1 KB (seed 1), made once.
bench_corpus_1m() {
  [ -f "$work/corpus-1m.jsonl" ] || "$bin/gen_corpus" "$work/corpus-1m.jsonl" 1000000 1000 1
}

# Its index in $work/idx-1m, built when missing or written by an older storage format.
bench_index_1m() {
  if ! "$bin/doppel-index" stats --index "$work/idx-1m" >/dev/null 2>&1; then
    rm -rf "$work/idx-1m"
    bench_corpus_1m
    "$bin/doppel-index" build --quiet --index "$work/idx-1m" "$work/corpus-1m.jsonl"
  fi
}
