#!/usr/bin/env bash
# Installs the peer tools of the code-copy comparison (jscpd, Dolos's library) into DIR, outside
# the repo, from the committed package.json + package-lock.json beside this script.
#
#   bench/peers/install.sh [DIR=/tmp/doppel-peers]
#
# `npm ci` installs exactly the locked versions and checks every tarball against the lockfile's
# sha512 integrity; a mismatch (or a package.json that disagrees with the lock) fails the install.
# Only the npm registry is used. @dodona/dolos-parsers compiles its tree-sitter grammars with
# node-gyp and g++ at install time (a few minutes on 2 cores); node-gyp takes node's headers from
# /usr/include/node (Debian's nodejs package), never from the network.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="${1:-/tmp/doppel-peers}"
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
REPO="$(cd "$HERE/../.." && pwd)"
case "$DIR/" in "$REPO"/*) echo "install.sh: DIR must be outside the repo ($REPO)" >&2; exit 2 ;; esac

command -v node >/dev/null || { echo "install.sh: node is missing (apt-get install nodejs npm)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install.sh: npm is missing (apt-get install npm)" >&2; exit 1; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 18 ]; then echo "install.sh: node >= 18 needed, have $(node --version)" >&2; exit 1; fi
for tool in g++ make python3; do
  command -v "$tool" >/dev/null || { echo "install.sh: $tool is needed to build Dolos's tree-sitter parsers (apt-get install g++ make python3)" >&2; exit 1; }
done
# node-gyp would otherwise try to download node's headers.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi

mkdir -p "$DIR"
# Already installed from these very files: nothing to do.
stamp="$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ -f "$DIR/.installed" ] && [ "$(cat "$DIR/.installed")" = "$stamp" ] && [ -d "$DIR/node_modules" ]; then
  echo "install.sh: $DIR is up to date"
else
  rm -f "$DIR/.installed"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$DIR/"
  # --foreground-scripts shows the native builds' output; the log is kept in DIR.
  if ! npm ci --prefix "$DIR" --no-audit --no-fund --foreground-scripts >"$DIR/install.log" 2>&1; then
    tail -40 "$DIR/install.log" >&2
    echo "install.sh: npm ci failed (full log: $DIR/install.log)" >&2
    exit 1
  fi
  echo "$stamp" >"$DIR/.installed"
fi

# Smoke checks: the jscpd binary runs, and Dolos loads every parser the suite needs.
"$DIR/node_modules/jscpd-linux-x64-gnu/bin/jscpd" --version
(cd "$DIR" && node --input-type=module -e '
  import { createRequire } from "module";
  const require = createRequire(process.cwd() + "/");
  const parsers = require("@dodona/dolos-parsers");
  const want = ["python", "javascript", "typescript", "tsx", "java", "c", "cpp", "go", "rust", "c-sharp"];
  const missing = want.filter(l => !parsers[l]);
  if (missing.length) { console.error("dolos-parsers lacks: " + missing.join(" ")); process.exit(1); }
  const lib = JSON.parse(require("fs").readFileSync("node_modules/@dodona/dolos-lib/package.json"));
  console.log("dolos-lib " + lib.version + ", parsers: " + want.join(" ") + " (no ruby parser)");
')
echo "install.sh: peers installed in $DIR"
