#!/usr/bin/env bash
# Gathers real code in each supported language for the code benchmarks (about 2 minutes; Debian 12
# packages and pinned npm tarballs only, nothing committed):
#   bash bench/code_corpus.sh [DIR=/tmp/doppel-code-corpus]
# DIR/<language>/ is the protected corpus (indexed by the benchmarks); DIR/other/<language>/ holds
# code of other projects, never indexed (the negatives of bench/quality_code.cc). Both are flat.
# Protected sources: Python's standard library (python3.11), npm's own JavaScript (with the modules
# it bundles), rxjs@7.8.1 (TypeScript), @tanstack/react-query@5.59.0 (TSX), the JDK's java.util
# (openjdk-17-source), googletest (C++), Go's standard library (golang-1.19-src), Go's cgo C files
# and the pinned grammars' C scanners (C), the regex and regex-syntax crates (librust-regex-dev;
# Rust), Ruby's standard library (ruby3.1), UniRx (com.neuecc.unirx@7.1.0) and the GTK# 3 samples
# (gtk-sharp3-examples) (C#).
# Other sources (Debian packages are fetched with apt-get download and unpacked, not installed):
#   python      docutils, jinja2, click, requests, urllib3 (less its packages/), markdown, attr
#               (python3-* packages);
#   javascript  eslint@8.57.0 and webpack@5.94.0 (their lib/);
#   typescript  effect@3.10.0, @trpc/server@10.45.2 and mobx@6.13.1 (their src/, no .d.ts);
#   tsx         @blueprintjs/core@5.13.0, react-aria-components@1.4.1,
#               @react-navigation/native@6.1.18 and @react-navigation/stack@6.4.1 (their src/);
#   java        OpenJFX's javafx.base and javafx.controls (openjfx-source);
#   c           expat (node-expat@2.4.1), libxml2 (libxmljs2@0.35.0), libcurl's examples
#               (libcurl4-doc);
#   cpp         LevelDB and Snappy (classic-level@1.4.1), RE2 (re2@1.21.4, not its Abseil),
#               React Native's ReactCommon (react-native@0.74.5);
#   go          go-git, cobra, gorilla/mux, yaml.v3, go-cmp, testify, logrus, miekg/dns, gin,
#               prometheus/client_golang (golang-*-dev packages);
#   rust        tokio, syn, serde, serde_json, nom, itertools, rand, clap (librust-*-dev packages);
#   ruby        rubocop, rubocop-ast, activesupport, rack, thor, rspec-core, i18n (Debian gems);
#   c_sharp     the Crowdin Unity plugin (com.crowdin.unity-plugin@0.12.0), the justtrack Unity
#               SDK (io.justtrack.justtrack-unity-sdk@8.0.0), edge-js@26.1.0 and React Native for
#               Windows' managed code (react-native-windows@0.74.0).
# The C# corpus and all of other/ skip generated files (a generated-file notice in the first 30
# lines) and minified ones (a line over 500 bytes).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/doppel-code-corpus}
mkdir -p "$out"
export DEBIAN_FRONTEND=noninteractive
need=()
# golang-go (gofmt), black and rustfmt are the formatters of bench/quality_code.cc's reformatted class.
for p in golang-1.19-src ruby3.1 googletest librust-regex-dev openjdk-17-source unzip golang-go black rustfmt; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"  # apt-get download writes here as the _apt user
copy() {  # copy(lang, find-args...): files into $out/lang, flattened with unique names
  local lang=$1; shift
  mkdir -p "$out/$lang"
  # head ends the pipe early on large trees: no pipefail here.
  (set +o pipefail
   find "$@" -type f -print0 2>/dev/null | sort -z | head -z -n 4000 | while IFS= read -r -d '' f; do
     name=${f#"$tmp"/}; name=${name//\//_}
     cp "$f" "$out/$lang/${name// /_}"
   done)
}
# A file is kept unless a line is over 500 bytes (minified or data) or its first 30 lines carry a
# generated-file notice.
# shellcheck disable=SC2016  # an awk program, not shell
keep_awk='FNR == 1 { if (f != "" && ok) print f; f = FILENAME; ok = 1 }
  length($0) > 500 { ok = 0 }
  ok && FNR <= 30 && tolower($0) ~ /@generated|do not edit|code generated|auto-?generated|automatically generated|generated (by|from|with)|this file (is|was) generated/ { ok = 0 }
  END { if (f != "" && ok) print f }'
copy_clean() {  # copy_clean(dir, find-args...): like copy, less generated and minified files
  local dest=$1; shift
  mkdir -p "$out/$dest"
  (set +o pipefail
   find "$@" -type f -not -name '*.min.*' -print0 2>/dev/null | sort -z | xargs -0 -r awk "$keep_awk" |
     head -n 4000 | while IFS= read -r f; do
     name=${f#"$tmp"/}; name=${name//\//_}
     cp "$f" "$out/$dest/${name// /_}"
   done)
}
rm -rf "${out:?}"/*

# Protected: installed Debian packages and the grammars' sources.
copy python /usr/lib/python3.11 -maxdepth 2 -name '*.py'
copy javascript /usr/lib/node_modules/npm -name '*.js' -size +2k
copy cpp /usr/src/googletest -name '*.cc'
copy go /usr/share/go-1.19/src -name '*.go' -not -name '*_test.go' -size +2k
copy c /usr/share/go-1.19/src /usr/share/go-1.19/misc -name '*.c'
copy c build/grammars-src -name scanner.c
copy rust /usr/share/cargo/registry/regex-[0-9]* /usr/share/cargo/registry/regex-syntax-[0-9]* -name '*.rs' -size +2k
copy ruby /usr/lib/ruby/3.1.0 -name '*.rb' -size +2k
unzip -q -o /usr/lib/jvm/openjdk-17/src.zip 'java.base/java/util/*' -d "$tmp/jdk"
copy java "$tmp/jdk" -name '*.java'

# Debian packages unpacked into $tmp/deb (a stale package list is refreshed once).
debs=(gtk-sharp3-examples
  python3-docutils python3-jinja2 python3-click python3-requests python3-urllib3 python3-markdown python3-attr
  openjfx-source libcurl4-doc
  golang-github-go-git-go-git-dev golang-github-spf13-cobra-dev golang-github-gorilla-mux-dev golang-gopkg-yaml.v3-dev
  golang-github-google-go-cmp-dev golang-github-stretchr-testify-dev golang-github-sirupsen-logrus-dev
  golang-github-miekg-dns-dev golang-github-gin-gonic-gin-dev golang-github-prometheus-client-golang-dev
  librust-tokio-dev librust-syn-dev librust-serde-dev librust-serde-json-dev librust-nom-dev librust-itertools-dev
  librust-rand-dev librust-clap-dev
  rubocop ruby-rubocop-ast ruby-activesupport ruby-rack ruby-thor ruby-rspec-core ruby-i18n)
mkdir -p "$tmp/debs"
if ! (cd "$tmp/debs" && apt-get download -qq "${debs[@]}" 2>/dev/null); then
  apt-get update -qq && (cd "$tmp/debs" && apt-get download -qq "${debs[@]}")
fi
for d in "$tmp"/debs/*.deb; do dpkg-deb -x "$d" "$tmp/deb"; done
# npm tarballs unpacked into $tmp/npm/NAME-VERSION/package.
npms=(rxjs@7.8.1 @tanstack/react-query@5.59.0 com.neuecc.unirx@7.1.0
  eslint@8.57.0 webpack@5.94.0 effect@3.10.0 @trpc/server@10.45.2 mobx@6.13.1
  @blueprintjs/core@5.13.0 react-aria-components@1.4.1 @react-navigation/native@6.1.18 @react-navigation/stack@6.4.1
  node-expat@2.4.1 libxmljs2@0.35.0 classic-level@1.4.1 re2@1.21.4 react-native@0.74.5
  com.crowdin.unity-plugin@0.12.0 io.justtrack.justtrack-unity-sdk@8.0.0 edge-js@26.1.0 react-native-windows@0.74.0)
mkdir -p "$tmp/tgz"
(cd "$tmp/tgz" && npm pack --silent "${npms[@]}" >/dev/null)
for t in "$tmp"/tgz/*.tgz; do
  mkdir -p "$tmp/npm/$(basename "$t" .tgz)" && tar -xzf "$t" -C "$tmp/npm/$(basename "$t" .tgz)"
done
n=$tmp/npm

# Protected: npm tarballs and the C# corpus.
copy typescript "$n"/rxjs-* -path '*/src/*' -name '*.ts' -not -name '*.d.ts'
copy tsx "$n"/tanstack-react-query-* -name '*.tsx'
copy_clean c_sharp "$n"/com.neuecc.unirx-* "$tmp/deb/usr/share/gtk-sharp3-examples" -name '*.cs'

# Other projects.
py=$tmp/deb/usr/lib/python3/dist-packages
copy_clean other/python "$py"/{docutils,jinja2,click,requests,urllib3,markdown,attr} -name '*.py' -not -path '*/urllib3/packages/*'
copy_clean other/javascript "$n"/eslint-*/package/lib "$n"/webpack-*/package/lib -name '*.js' -size +2k
copy_clean other/typescript "$n"/{effect,trpc-server,mobx}-*/package/src -name '*.ts' -not -name '*.d.ts'
copy_clean other/tsx "$n"/{blueprintjs-core,react-aria-components,react-navigation-native,react-navigation-stack}-*/package/src -name '*.tsx'
unzip -q -o "$tmp/deb/usr/share/openjfx/lib/src.zip" 'javafx.base/javafx/*' 'javafx.controls/javafx/*' -d "$tmp/openjfx"
copy_clean other/java "$tmp/openjfx" -name '*.java'
copy_clean other/c "$n"/node-expat-*/package/deps/libexpat "$n"/libxmljs2-*/package/vendor/libxml \
  "$tmp/deb/usr/share/doc/libcurl4/examples" -name '*.c'
copy_clean other/cpp "$n"/classic-level-*/package/deps "$n"/re2-*/package/vendor/re2 "$n"/react-native-0*/package/ReactCommon \
  \( -name '*.cc' -o -name '*.cpp' \)
copy_clean other/go "$tmp/deb/usr/share/gocode/src" -name '*.go' -not -name '*_test.go' -size +2k
copy_clean other/rust "$tmp/deb/usr/share/cargo/registry" -name '*.rs' -size +2k
copy_clean other/ruby "$tmp/deb/usr/share/rubygems-integration/all/gems" -name '*.rb' -size +2k
copy_clean other/c_sharp "$n"/{com.crowdin.unity-plugin,io.justtrack.justtrack-unity-sdk,edge-js,react-native-windows}-* -name '*.cs'

for d in "$out"/*/ "$out"/other/*/; do
  d=${d%/}
  [ "$d" = "$out/other" ] && continue
  printf '%-16s %5d files %8d KB\n' "${d#"$out"/}" "$(ls "$d" | wc -l)" "$(du -sk "$d" | cut -f1)"
done
