#!/usr/bin/env bash
# Scale-out on a real single-node Slurm cluster (scripts/slurm.sh, Debian's slurm-wlm): dedup run
# as Slurm array jobs equals the local executor's run byte for byte; a failing task fails the
# run and cancels what depends on it; a task whose output is lost is redone alone on a rerun; a
# sharded index built as a Slurm array job holds what one local build holds; a scan split into
# Slurm tasks writes what a local scan writes.
#   bash tests/slurm_test.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=$(realpath "${1:-build}")/bin
tmp=$(mktemp -d /tmp/doppel-slurm-test-XXXXXX)
chmod 755 "$tmp"
cleanup() {
  bash "$root/scripts/slurm.sh" stop "$tmp/cluster" || true
  rm -rf "$tmp"
}
trap cleanup EXIT
export SLURM_CONF
SLURM_CONF=$(bash "$root/scripts/slurm.sh" start "$tmp/cluster")
failures=0
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}
same_outputs() {  # same_outputs DIR_A DIR_B: every output file, byte for byte
  diff -r --exclude=.work "$1" "$2" >/dev/null
}

cd "$tmp"
/usr/bin/python3 - <<'EOF'
import json, random
r = random.Random(5)
words = ['w%d' % i for i in range(3000)]
base = [' '.join(r.choice(words) for _ in range(120)) for _ in range(300)]
n = 0
for s in range(5):
    with open('shard-%d.jsonl' % s, 'w') as f:
        for i in range(250):
            t = r.choice(base) if r.random() < 0.4 else ' '.join(r.choice(words) for _ in range(120))
            if r.random() < 0.5:
                t = t.replace(r.choice(words), 'zz', 1)
            f.write(json.dumps({'id': 'd%d' % n, 'text': t}) + '\n')
            n += 1
EOF
zstd -q --rm shard-3.jsonl
inputs=(shard-0.jsonl shard-1.jsonl shard-2.jsonl shard-3.jsonl.zst shard-4.jsonl)

"$bin/doppel-index" dedup --quiet --output local "${inputs[@]}"
check "local run removes duplicates" grep -q '"near_duplicate":[1-9]' local/stats.json
"$bin/doppel-index" dedup --quiet --output local3 --tasks 3 "${inputs[@]}"
check "local executor with 3 tasks equals one task" same_outputs local local3

check "slurm executor with 3 tasks exits 0" \
  "$bin/doppel-index" dedup --quiet --executor slurm --tasks 3 --cpus-per-task 1 --mem 512M --time 10:00 \
  --output slurm "${inputs[@]}"
check "slurm run equals the local run" same_outputs local slurm
check "slurm ran 3 sketch and 3 write tasks" test "$(ls slurm/.work/slurm | wc -l)" -eq 7

# A task whose output is lost: the rerun redoes that write task alone.
rm slurm/shard-1.jsonl slurm/.work/write-1.done
before=$(stat -c %Y slurm/.work/write-0.done)
sleep 1
check "slurm rerun after a lost shard exits 0" \
  "$bin/doppel-index" dedup --quiet --executor slurm --tasks 3 --output slurm "${inputs[@]}"
check "the rerun restored the shard" same_outputs local slurm
check "the rerun left finished tasks alone" test "$(stat -c %Y slurm/.work/write-0.done)" = "$before"

# A failing sketch task fails the run; the jobs after it are cancelled.
cp shard-0.jsonl bad.jsonl
echo '{"id": "broken", "text": ' >>bad.jsonl
if "$bin/doppel-index" dedup --quiet --executor slurm --tasks 2 --output failed bad.jsonl shard-1.jsonl \
     2>failed.err; then
  check "a failing task fails the slurm run" false
else
  check "a failing task fails the slurm run" true
fi
check "its log names the bad line" grep -rq "bad.jsonl:251" failed/.work/slurm/
check "no write task ran" test ! -e failed/stats.json

# With --on-error skip the bad line is passed over: the run finishes, lists it, and exits 1.
rc=0
"$bin/doppel-index" dedup --quiet --executor slurm --tasks 2 --on-error skip --output skipped bad.jsonl shard-1.jsonl \
  2>skipped.err || rc=$?
check "a slurm run that skipped a malformed line exits 1" test "$rc" -eq 1
check "it finished" test -e skipped/stats.json
check "it lists the line" grep -q '"input":"bad.jsonl:251"' skipped/removed.jsonl

# A sharded index built by a Slurm array job holds what one local build holds.
digest() { "$bin/doppel-index" verify --digest --index "$1" | grep -o 'digest=[0-9a-f]*'; }
"$bin/doppel-index" build --quiet --index idx-one "${inputs[@]}" /usr/share/common-licenses
check "slurm build of 3 shards exits 0" \
  "$bin/doppel-index" build --quiet --shards 3 --executor slurm --cpus-per-task 1 --index idx-slurm \
  "${inputs[@]}" /usr/share/common-licenses
check "slurm built 3 shards" test "$(ls idx-slurm/.tasks/slurm | wc -l)" -eq 3
check "the sharded index holds what one index holds" test "$(digest idx-slurm)" = "$(digest idx-one)"
check "both give the same verdict" test \
  "$("$bin/doppel-filter" check --index idx-slurm /usr/share/common-licenses/MPL-2.0 | sed 's/"elapsed_us":[0-9]*//')" = \
  "$("$bin/doppel-filter" check --index idx-one /usr/share/common-licenses/MPL-2.0 | sed 's/"elapsed_us":[0-9]*//')"

# A scan split into Slurm check tasks and a report task writes what one local scan writes.
strip_seconds() { sed 's/"seconds":[0-9.e+-]*//' "$1"; }
"$bin/doppel-filter" scan --quiet --index idx-slurm --report scan-local "${inputs[@]}" /usr/share/common-licenses
check "slurm scan with 3 check tasks exits 0" \
  "$bin/doppel-filter" scan --quiet --executor slurm --tasks 3 --cpus-per-task 1 --index idx-slurm \
  --report scan-slurm "${inputs[@]}" /usr/share/common-licenses
check "slurm scan results equal the local scan's" cmp -s scan-local/results.jsonl scan-slurm/results.jsonl
check "slurm scan summary equals the local scan's" test "$(strip_seconds scan-local/summary.json)" = \
  "$(strip_seconds scan-slurm/summary.json)"
check "slurm scan report equals the local scan's" cmp -s scan-local/report.html scan-slurm/report.html
check "slurm scan --fail-on 0 exits 1 as a local scan does" test "$(
  "$bin/doppel-filter" scan --quiet --executor slurm --tasks 2 --fail-on 0 --index idx-one --report scan-gate \
    "${inputs[@]}" /usr/share/common-licenses >/dev/null 2>&1; echo $?)" = 1

if [ "$failures" -ne 0 ]; then
  echo "slurm_test: $failures checks failed (cluster logs in $tmp/cluster)"
  trap - EXIT
  bash "$root/scripts/slurm.sh" stop "$tmp/cluster" || true
  exit 1
fi
echo "slurm_test: all checks passed"
