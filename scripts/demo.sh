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
echo "== code: index the C scanners of the pinned tree-sitter grammars (fetched at build time),"
echo "   then check an answer that copies one of their functions with every local name renamed"
echo "   and the code reformatted by clang-format"
mapfile -t scanners < <(find build/grammars-src -name scanner.c | sort)
build/bin/doppel-index build --index "$index/code" "${scanners[@]}"
src=build/grammars-src/tree-sitter-rust/src/scanner.c
# The first top-level function of 12 to 30 lines.
fn=$(awk '/^[a-z].*\($/ || /^[a-z].*\) \{$/ {start=NR; buf=""} start {buf=buf $0 "\n"} /^}$/ && start {if (NR-start>=11 && NR-start<=29) {printf "%s", buf; exit} start=0}' "$src")
renamed=$(printf '%s' "$fn" | sed -E 's/\blexer\b/lx/g; s/\bvalid_symbols\b/allowed/g; s/\bscanner\b/state/g; s/\bpayload\b/blob/g; s/\bc\b/ch/g')
if command -v clang-format >/dev/null; then
  renamed=$(printf '%s\n' "$renamed" | clang-format --assume-filename=x.c --style='{BasedOnStyle: WebKit, IndentWidth: 3}')
fi
answer="$index/code-answer.md"
printf 'You can scan it like this:\n\n```c\n%s\n```\n\nThis keeps the lexer state small.\n' "$renamed" > "$answer"
cat "$answer"
build/bin/doppel-filter check --index "$index/code" --format text --id renamed-copy "$answer" || rc=$?
[ "$rc" -le 1 ] || exit "$rc"
{ build/bin/doppel-filter check --index "$index/code" --output "$answer" || [ $? -le 1 ]; }
echo
echo "== code: the same copy pasted between two sentences without a fence (read as code by its lines)"
bare="$index/code-answer-bare.md"
printf 'You can scan it like this:\n\n%s\n\nThis keeps the lexer state small.\n' "$renamed" > "$bare"
build/bin/doppel-filter check --index "$index/code" --format text --id pasted-copy "$bare" || rc=$?
[ "$rc" -le 1 ] || exit "$rc"
echo
echo "== code: the same copy in an HTML answer, escaped in a <pre><code> block (read as the page shows it)"
html="$index/code-answer.html"
escaped=$(printf '%s\n' "$renamed" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g')
printf '<p>You can scan it like this:</p>\n<pre><code class="language-c">%s\n</code></pre>\n' "$escaped" > "$html"
build/bin/doppel-filter check --index "$index/code" --format text --id html-copy "$html" || rc=$?
[ "$rc" -le 1 ] || exit "$rc"
echo
echo "== code: the same copy as a tool call's arguments, escaped twice in JSON (read in its strings;"
echo "   with blocks made redactions, redacted inside the string, so the output is still JSON)"
json_string() {
  printf '%s\n' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g; s/\t/\\t/g; s/\r/\\r/g; s/\f/\\f/g' |
    awk 'BEGIN { ORS = ""; print "\"" } { if (NR > 1) print "\\n"; print } END { print "\"" }'
}
tool="$index/code-answer-tool.json"
args="{\"path\": \"src/scanner.c\", \"content\": $(json_string "$renamed")}"
printf '{"tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "write_file", "arguments": %s}}]}\n' \
  "$(json_string "$args")" > "$tool"
build/bin/doppel-filter check --index "$index/code" --format text --output --action block=redact --id tool-call-copy "$tool" || rc=$?
[ "$rc" -le 1 ] || exit "$rc"
echo
echo "== code: the same copy added by a patch (read as the file's new side, in the language of its"
echo "   name; with blocks made redactions, the marker is an added line, so the patch stays a patch)"
patch="$index/code-answer-patch.md"
{
  printf 'Apply this patch:\n\n```diff\n--- a/src/scan.c\n+++ b/src/scan.c\n@@ -1,2 +1,%d @@\n #include "scan.h"\n-/* TODO */\n' \
    "$(($(printf '%s\n' "$renamed" | wc -l) + 1))"
  printf '%s\n' "$renamed" | sed 's/^/+/'
  printf '```\n'
} > "$patch"
build/bin/doppel-filter check --index "$index/code" --format text --output --action block=redact --id patch-copy "$patch" || rc=$?
[ "$rc" -le 1 ] || exit "$rc"

echo
echo "== scan: the sample answers as a corpus, with a report people can read"
build/bin/doppel-filter scan --index "$index/licenses" --report "$index/report" data/demo/answers
cat "$index/report/summary.json"
echo "report: $index/report/report.html"

echo
echo "demo finished: exit code 1 above means some answers were redacted or blocked, as expected"
