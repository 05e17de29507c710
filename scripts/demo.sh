#!/usr/bin/env bash
# The demo: installs what doppel needs, builds it, indexes the license texts every Debian machine
# has in /usr/share/common-licenses, and checks the sample answers in data/demo/answers against
# them, printing each verdict for people and then as JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
index=$(mktemp -d /tmp/doppel-demo-XXXXXX)
trap 'rm -rf "$index"' EXIT
echo "== indexing /usr/share/common-licenses"
build/bin/doppel-index build --index "$index/licenses" /usr/share/common-licenses
build/bin/doppel-index stats --index "$index/licenses"
echo
echo "== checking data/demo/answers/*.txt"
rc=0
for f in data/demo/answers/*.txt; do
  build/bin/doppel-filter check --index "$index/licenses" --format text --id "$(basename "$f" .txt)" "$f" || rc=$?
  [ "$rc" -le 1 ] || exit "$rc"
done
echo
echo "== the same answers as a JSONL stream, one verdict line each (with the redacted output)"
build/bin/doppel-filter check --index "$index/licenses" --jsonl --output data/demo/answers.jsonl || rc=$?
[ "$rc" -le 1 ] || exit "$rc"
echo
echo "demo finished: exit code 1 above means some answers were redacted or blocked, as expected"
