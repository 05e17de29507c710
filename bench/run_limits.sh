#!/usr/bin/env bash
# Resource limits: what each hostile input costs or how it is refused, with wall time and peak
# memory (GNU time's maximum resident set). Usage: bash bench/run_limits.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-/tmp/doppel-bench}/limits"
source bench/common.sh

measure() {  # measure LABEL COMMAND...: prints the exit code, seconds, peak RSS and the error (or last) line
  local label="$1"
  shift
  local rc=0
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >"$work/out.txt" 2>"$work/err.txt" || rc=$?
  read -r secs kb < <(tail -n1 "$work/time.txt")
  printf '%-44s exit %d  %6.2f s  %6d MB  %s\n' "$label" "$rc" "$secs" $((kb / 1024)) \
    "$( (grep -m1 'error' "$work/err.txt" || tail -n1 "$work/err.txt") | cut -c1-150)"
}

idx="$work/idx"
rm -rf "$idx" "$work/idx-line"
"$bin/doppel-index" build --quiet --index "$idx" /usr/share/common-licenses

echo "== a 1 GB single JSONL line, streamed through a FIFO into build"
rm -f "$work/line.jsonl"
mkfifo "$work/line.jsonl"
python3 -c "
import sys
out = sys.stdout.buffer
out.write(b'{\"id\":\"huge\",\"text\":\"')
chunk = b'word ' * 200000
for _ in range(1024): out.write(chunk)
out.write(b'\"}\n{\"id\":\"after\",\"text\":\"a short document after the huge line\"}\n')
" >"$work/line.jsonl" &
measure "build, 1 GB line then a short one" "$bin/doppel-index" build --on-error skip --index "$work/idx-line" "$work/line.jsonl"
wait
rm -f "$work/line.jsonl"
"$bin/doppel-index" stats --index "$work/idx-line" | grep -o '"documents":[0-9]*'
rm -rf "$work/idx-line"

echo "== a 100 MB answer"
python3 -c "
import random
r = random.Random(3)
w = ['w%d' % i for i in range(20000)]
with open('$work/answer-100m.txt', 'w') as out:
    for _ in range(100):
        out.write(' '.join(r.choice(w) for _ in range(170000)) + '\n')
"
measure "check, default limit" "$bin/doppel-filter" check --index "$idx" "$work/answer-100m.txt"
measure "check, --max-answer-bytes 128M" "$bin/doppel-filter" check --index "$idx" --max-answer-bytes 134217728 "$work/answer-100m.txt"
head -c 16000000 "$work/answer-100m.txt" >"$work/answer-16m.txt"
measure "check, a 16 MB answer" "$bin/doppel-filter" check --index "$idx" "$work/answer-16m.txt"
rm -f "$work/answer-100m.txt" "$work/answer-16m.txt"

echo "== files of NUL bytes"
head -c 100000000 /dev/zero >"$work/zeros.bin"
measure "build, a 100 MB file of NUL bytes" "$bin/doppel-index" build --index "$work/idx-nul" "$work/zeros.bin"
head -c 1000000 /dev/zero >"$work/zeros-1m.bin"
measure "build, a 1 MB file of NUL bytes" "$bin/doppel-index" build --index "$work/idx-nul" "$work/zeros-1m.bin"
measure "check, a 1 MB file of NUL bytes" "$bin/doppel-filter" check --index "$idx" "$work/zeros-1m.bin"
rm -rf "$work/zeros.bin" "$work/zeros-1m.bin" "$work/idx-nul"

echo "== deeply nested code"
python3 -c "print('def f():\n    return ' + '(' * 500000 + '1' + ')' * 500000)" >"$work/deep.py"
python3 -c "print('int main() { ' + '{' * 1000000 + '}' * 1000000 + ' }')" >"$work/deep.c"
measure "check, Python nested 500,000 deep" "$bin/doppel-filter" check --index "$idx" "$work/deep.py"
measure "check, C nested 1,000,000 deep" "$bin/doppel-filter" check --index "$idx" "$work/deep.c"
measure "build, both" "$bin/doppel-index" build --index "$work/idx-deep" "$work/deep.py" "$work/deep.c"
rm -rf "$work/deep.py" "$work/deep.c" "$work/idx-deep"

echo "== a million tiny files"
if [ ! -f "$work/tiny/999/999.txt" ]; then
  python3 -c "
import os
for d in range(1000):
    os.makedirs('$work/tiny/%d' % d, exist_ok=True)
    for f in range(1000):
        with open('$work/tiny/%d/%d.txt' % (d, f), 'w') as out:
            out.write('tiny file %d of directory %d holds a few words\n' % (f, d))
"
fi
rm -rf "$work/idx-tiny"
measure "build, 1,000,000 files of ~50 bytes" "$bin/doppel-index" build --index "$work/idx-tiny" "$work/tiny"
"$bin/doppel-index" stats --index "$work/idx-tiny" | grep -o '"documents":[0-9]*'
rm -rf "$work/idx-tiny"
