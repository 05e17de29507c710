#!/usr/bin/env bash
# Fuzzes every parser of outside bytes with libFuzzer (clang; ASan + UBSan) for SECONDS per target
# (default 30): the text and code tokenizers, the Markdown splitter, the reading of a JSON
# answer's strings and edits written back into them, a code redaction's steps, the JSON Lines reader
# (plain, gzip, zstd), whole HTTP requests sent to a real service on 127.0.0.1, the request
# body and policy decoders, and the decoders of stored values. Each target first replays
# tests/fuzz/regressions/<target>/ (inputs that once crashed), then runs on a scratch copy of its
# seed corpus tests/fuzz/corpus/<target>/. A crash fails the script; the input is kept in
# build-fuzz/crashes/<target>/ (add it to regressions/ with the fix).
#   bash scripts/fuzz.sh [SECONDS=30]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
CC=clang CXX=clang++ DOPPEL_BUILD_DIR=build-fuzz \
  DOPPEL_TARGETS="fuzz_tokenizers fuzz_markdown fuzz_json_answer fuzz_redaction fuzz_reader fuzz_codec fuzz_http_body fuzz_http_request" bash scripts/build.sh -DDOPPEL_FUZZ=ON \
  -DDOPPEL_BUILD_TESTS=OFF -DDOPPEL_NATIVE=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for target in tokenizers markdown json_answer redaction reader codec http_body http_request; do
  bin=build-fuzz/bin/fuzz_$target
  regressions=tests/fuzz/regressions/$target
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    "$bin" -runs=0 "$regressions"/* >/dev/null 2>&1 || { echo "fuzz_$target: a regression input fails again"; status=1; }
  fi
  work=build-fuzz/corpus/$target crashes=build-fuzz/crashes/$target
  rm -rf "$work"
  mkdir -p "$work" "$crashes"
  cp tests/fuzz/corpus/$target/* "$work"/
  if "$bin" "$work" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -artifact_prefix="$crashes/" -print_final_stats=1 > "build-fuzz/fuzz_$target.log" 2>&1; then
    echo "fuzz_$target: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/fuzz_$target.log" | grep -o '[0-9]*$') inputs in ${seconds} s, no failure; corpus $(ls "$work" | wc -l) inputs"
  else
    echo "fuzz_$target: FAILED (input in $crashes/):"
    grep -m5 -E 'ERROR|SUMMARY|runtime error' "build-fuzz/fuzz_$target.log" || tail -20 "build-fuzz/fuzz_$target.log"
    status=1
  fi
done
exit $status
