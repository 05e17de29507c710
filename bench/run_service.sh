#!/usr/bin/env bash
# Service load benchmark (numbers in bench/README.md): `doppel-filter serve` on 127.0.0.1 under
# wrk (from Debian) with 2 KB answers (half embed a 600-byte excerpt of an indexed document, half
# are new text; verified by bench/check_latency before anything is timed), at 8 and 32
# connections, against the demo index and against the 1M-document index of bench/run_text.sh, as
# built and compacted.
#   bash bench/run_service.sh [WORK_DIR=/tmp/doppel-bench] [SECONDS=20]
# Bounded: each wrk run lasts SECONDS; everything binds and sends to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/doppel-bench}
seconds=${2:-20}
if ! command -v wrk >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null
fi
source bench/common.sh
echo "wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2)"
port=18931


serve_and_load() {  # INDEX BODIES LABEL
  "$bin/doppel-filter" serve --index "$1" --listen 127.0.0.1:$port --quiet 2>"$work/serve.log" &
  local pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  # The answers must come from this server (not one left on the port by an earlier run).
  kill -0 $pid 2>/dev/null || { echo "doppel-filter serve did not start:"; cat "$work/serve.log"; exit 1; }
  # warm-up (page cache, block cache, token cache), then the measured runs
  DOPPEL_BODIES="$2" wrk -t2 -c8 -d5s -s bench/load/check.lua "http://127.0.0.1:$port" >/dev/null
  for c in 8 32; do
    printf "%s, %2d connections: " "$3" "$c"
    DOPPEL_BODIES="$2" wrk -t2 -c$c -d${seconds}s --timeout 10s -s bench/load/check.lua \
      "http://127.0.0.1:$port" | grep '^RESULT' | cut -d' ' -f2-
  done
  curl -s "http://127.0.0.1:$port/metrics" | grep -E '^doppel_(verdicts_total|http_requests_total)' | tr '\n' ' '
  echo
  kill -TERM $pid
  wait $pid
}

echo "== demo index (/usr/share/common-licenses)"
rm -rf "$work/demo-idx"
"$bin/doppel-index" build --index "$work/demo-idx" /usr/share/common-licenses >/dev/null
"$bin/check_latency" "$work/demo-idx" 1000 1 "$work/bodies-demo.jsonl" | grep -E 'index|verification'
serve_and_load "$work/demo-idx" "$work/bodies-demo.jsonl" "demo index"

echo "== 1M-document index"
bench_index_1m
"$bin/check_latency" "$work/idx-1m" 2000 1 "$work/bodies-1m.jsonl" | grep -E 'index|verification'
serve_and_load "$work/idx-1m" "$work/bodies-1m.jsonl" "1M index"

echo "== 1M-document index, compacted (a copy, after doppel-index compact)"
rm -rf "$work/idx-1m-compact"
cp -r "$work/idx-1m" "$work/idx-1m-compact"
/usr/bin/time -f "compact: %e s" "$bin/doppel-index" compact --index "$work/idx-1m-compact" >/dev/null
serve_and_load "$work/idx-1m-compact" "$work/bodies-1m.jsonl" "1M index, compacted"
rm -rf "$work/idx-1m-compact"
