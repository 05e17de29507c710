#!/usr/bin/env bash
# Runs the peer tools (jscpd, Dolos) on the code-copy suite that doppel's quality_code bench wrote
# to WORK/peers/, and prints their recall / false-flag tables beside time and peak memory.
#
#   bench/peers/run.sh WORK [DIR=/tmp/doppel-peers]
#
# DIR is where install.sh put the tools (run it first). Environment:
#   PEERS_SAMPLE=N   run at most N queries per (language, class), picked by a hash of the id
#                    (default 0: all). jscpd and Dolos still index every protected file.
#   PEERS_TOOLS      "jscpd dolos" (default) or either one
#   DOLOS_RULES      Dolos's decision rules, NAME:MEASURE:THRESHOLD,... (see dolos_run.mjs);
#                    default sim0.5:similarity:0.5,sim0.25:similarity:0.25,cov0.5:coverage:0.5
#
# Writes, in WORK/peers/: jscpd.jsonl, dolos-<rule>.jsonl (one line per query), jscpd.time and
# dolos.time (GNU time -v), dolos-pairs.jsonl (each query's best Dolos candidates with their
# scores), dolos-stats.json, summary.md; scratch (jscpd's report, the sample) in WORK/peers/run/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -lt 1 ]; then sed -n '2,9p' "$0" >&2; exit 2; fi
WORK="$(cd "$1" && pwd)"
DIR="${2:-/tmp/doppel-peers}"
PEERS="$WORK/peers"
RUN="$PEERS/run"
SAMPLE="${PEERS_SAMPLE:-0}"
TOOLS="${PEERS_TOOLS:-jscpd dolos}"
RULES="${DOLOS_RULES:-sim0.5:similarity:0.5,sim0.25:similarity:0.25,cov0.5:coverage:0.5}"
JSCPD="$DIR/node_modules/jscpd-linux-x64-gnu/bin/jscpd"

[ -f "$PEERS/manifest.jsonl" ] || { echo "run.sh: no $PEERS/manifest.jsonl (the suite writes it)" >&2; exit 1; }
[ -x "$JSCPD" ] && [ -f "$DIR/node_modules/@dodona/dolos-lib/package.json" ] ||
  { echo "run.sh: peers not installed in $DIR: run bench/peers/install.sh $DIR" >&2; exit 1; }
if [ ! -x /usr/bin/time ]; then
  echo "run.sh: installing GNU time (Debian package 'time')" >&2
  apt-get update -qq && apt-get install -y -qq time >/dev/null
fi

mkdir -p "$RUN"
MANIFEST="$PEERS/manifest.jsonl"
QDIR="$PEERS/queries"
if [ "$SAMPLE" != 0 ]; then
  python3 "$HERE/peers.py" sample "$PEERS" "$PEERS/manifest.jsonl" "$SAMPLE" "$RUN/sample"
  MANIFEST="$RUN/sample/manifest.jsonl"
  QDIR="$RUN/sample/queries"
fi
echo "run.sh: $(wc -l <"$MANIFEST") queries, $(find "$PEERS/protected" -type f | wc -l) protected files" >&2
rm -f "$PEERS"/jscpd.* "$PEERS"/dolos-*.jsonl "$PEERS"/dolos-stats.json "$PEERS"/dolos.time "$PEERS/summary.md"

for tool in $TOOLS; do
  case "$tool" in
    jscpd)
      # Detection at jscpd's defaults (min-tokens 50, min-lines 5, mode mild, exact clones only,
      # max-size 1mb). --no-gitignore only keeps a .gitignore above WORK from hiding files;
      # --absolute names files by absolute path; the json reporter replaces the console one.
      rm -rf "$RUN/jscpd-report"
      args=(--reporters json --output "$RUN/jscpd-report" --absolute --no-gitignore "$PEERS/protected" "$QDIR")
      version="$("$JSCPD" --version | awk '{print $NF}')"
      python3 -c 'import json,sys; print(json.dumps({"version": sys.argv[1], "command": "jscpd " + " ".join(sys.argv[2:])}))' \
        "$version" "${args[@]}" >"$PEERS/jscpd.info.json"
      echo "run.sh: jscpd $version ${args[*]}" >&2
      status=0
      /usr/bin/time -v -o "$PEERS/jscpd.time" "$JSCPD" "${args[@]}" >"$RUN/jscpd.log" 2>&1 || status=$?
      if [ "$status" != 0 ] || [ ! -f "$RUN/jscpd-report/jscpd-report.json" ]; then
        tail -20 "$RUN/jscpd.log" >&2
        echo "run.sh: jscpd failed (exit $status); log: $RUN/jscpd.log" >&2
        exit 1
      fi
      python3 "$HERE/peers.py" jscpd "$PEERS" "$MANIFEST" "$QDIR" "$RUN/jscpd-report/jscpd-report.json" >"$PEERS/jscpd.jsonl"
      grep -E "Elapsed|Maximum resident" "$PEERS/jscpd.time" | sed 's/^\s*/run.sh: jscpd: /' >&2
      ;;
    dolos)
      echo "run.sh: dolos rules $RULES" >&2
      # Dolos's tokenizer recurses over the syntax tree: deep trees (long expression chains,
      # generated tables) need more than node's default ~1 MB stack. A bigger V8 stack is only
      # safe under a bigger OS stack limit, so both are raised together, in a subshell.
      status=0
      (
        stack=()
        if ulimit -s 1048576 2>/dev/null; then stack=(--stack-size=1000000); fi
        exec /usr/bin/time -v -o "$PEERS/dolos.time" node --max-old-space-size=16384 "${stack[@]}" \
          "$HERE/dolos_run.mjs" "$DIR" "$PEERS" "$MANIFEST" "$PEERS/dolos" "$RULES"
      ) 2> >(tee "$RUN/dolos.log" >&2) || status=$?
      if [ "$status" != 0 ]; then echo "run.sh: dolos failed (exit $status); log: $RUN/dolos.log" >&2; exit 1; fi
      grep -E "Elapsed|Maximum resident" "$PEERS/dolos.time" | sed 's/^\s*/run.sh: dolos: /' >&2
      ;;
    *) echo "run.sh: unknown tool $tool" >&2; exit 2 ;;
  esac
done

python3 "$HERE/peers.py" summary "$PEERS" "$MANIFEST" | tee "$PEERS/summary.md"
