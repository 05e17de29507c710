#!/usr/bin/env bash
# Scan benchmarks (numbers in bench/README.md), against a compacted copy of the 1M-document index
# of bench/run_text.sh (built here when missing) with half of the code corpus added:
#   text: 100,000 new generated 1 KB documents (another seed than the index's);
#   code: bench/code_corpus.sh's protected packages added to a scratch copy of the index (the 1M
#         documents plus them), its other packages (code never indexed) scanned, and the same
#         files parsed by tree-sitter alone on 2 threads beside it.
#   bash bench/run_scan.sh [WORK_DIR=/tmp/doppel-bench] [CODE_CORPUS=/tmp/doppel-code-corpus]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/doppel-bench}
code=${2:-/tmp/doppel-code-corpus}
source bench/common.sh
[ -d "$code/other" ] || bash bench/code_corpus.sh "$code"

bench_index_1m

echo "== code: the protected packages indexed, other packages scanned"
rm -rf "$work/idx-scan"
cp -r "$work/idx-1m" "$work/idx-scan"
mapfile -t protected < <(find "$code" -mindepth 1 -maxdepth 1 -type d ! -name other | sort)
"$bin/doppel-index" add --quiet --index "$work/idx-scan" "${protected[@]}"
/usr/bin/time -f "compact: %e s" "$bin/doppel-index" compact --index "$work/idx-scan"
"$bin/doppel-index" stats --index "$work/idx-scan" | grep -o '"documents":[0-9]*,"deleted":[0-9]*'
mapfile -t files < <(find "$code/other" -type f | sort)
"$bin/parse_rate" 2 "${files[@]}"
"$bin/doppel-filter" scan --quiet --threads 2 --parse-all --index "$work/idx-scan" --report "$work/scan-code-report" "$code/other"
grep -o '"documents":[0-9]*,"flagged":[0-9]*,"errors":[0-9]*,"bytes":[0-9]*' "$work/scan-code-report/summary.json" | head -1
grep -o '"seconds":[0-9.]*' "$work/scan-code-report/summary.json" | head -1

# The default scan (code read by the lexer first) beside the parse, three rounds: the parse, then
# two scans (on the benchmark machine the first, right after the parse, pays for fresh memory its
# guest had handed back to the host, and the second runs warm; bench/README.md).
for round in 1 2 3; do
  rate=$("$bin/parse_rate" 2 "${files[@]}" | grep -o '= [0-9.]* MB/s' | grep -o '[0-9.]*')
  for run in after-parse warm; do
    start=$(date +%s.%N)  # wall time of the whole process: opening the index and the report too
    "$bin/doppel-filter" scan --quiet --threads 2 --index "$work/idx-scan" \
      --report "$work/scan-code-lexed" "$code/other"
    secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b - a}')
    cmp -s "$work/scan-code-report/results.jsonl" "$work/scan-code-lexed/results.jsonl" && same=same || same=other
    bytes=$(grep -o '"bytes":[0-9]*' "$work/scan-code-lexed/summary.json" | head -1 | cut -d: -f2)
    awk -v b="$bytes" -v s="$secs" -v r="$rate" -v run="$run" -v same="$same" -v round="$round" \
      'BEGIN{printf "scan round %d, %s: %.2f s = %.1f MB/s, %.0f%% of the parse (%.1f MB/s); results %s as --parse-all'"'"'s\n", round, run, s, b/1e6/s, 100*b/1e6/s/r, r, same}'
  done
done

echo "== text: 100,000 new documents against the compacted index"
[ -f "$work/scan-100k.jsonl" ] || "$bin/gen_corpus" "$work/scan-100k.jsonl" 100000 1000 2
/usr/bin/time -f "wall %e s, peak RSS %M KB, CPU %P" "$bin/doppel-filter" scan --quiet --index "$work/idx-scan" \
  --report "$work/scan-text-report" "$work/scan-100k.jsonl"
bytes=$(stat -c %s "$work/scan-100k.jsonl")
secs=$(grep -o '"seconds":[0-9.]*' "$work/scan-text-report/summary.json" | cut -d: -f2)
echo "text scan: $(awk -v b="$bytes" -v s="$secs" 'BEGIN{printf "%.1f MB in %.2f s = %.1f MB/s", b/1e6, s, b/1e6/s}'); $(grep -o '"documents":[0-9]*,"flagged":[0-9]*' "$work/scan-text-report/summary.json" | head -1)"

