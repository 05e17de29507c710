#!/usr/bin/env bash
# Installs the formatters of bench/quality_code.cc's reformatted classes that Debian's packages
# of bench/code_corpus.sh do not cover: RuboCop (Debian) for Ruby and Prettier (a pinned npm
# tarball, checked against its sha512 integrity) for TSX. Prints the directory to put on PATH:
#   PATH="$(bash bench/formatters.sh)/bin:$PATH" build-bench/bin/quality_code ...
set -euo pipefail
dir=${1:-/tmp/doppel-formatters}
prettier_version=3.3.3
prettier_integrity=sha512-i2tDNA0O5IrMO757lfrdQZCc2jPNDVntV0m/+4whiDfWaTKfMNgR7Qz0NAeGz/nRqF4m5/6CLzbP4/liHt12Ew==
if ! dpkg-query -W -f='${Status}' rubocop 2>/dev/null | grep -q 'install ok installed'; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rubocop >/dev/null
fi
mkdir -p "$dir/bin"
if [ ! -f "$dir/prettier/package/bin/prettier.cjs" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "prettier@$prettier_version" >/dev/null)
  got="sha512-$(openssl dgst -sha512 -binary "$tmp/prettier-$prettier_version.tgz" | base64 -w0)"
  if [ "$got" != "$prettier_integrity" ]; then
    echo "formatters.sh: prettier@$prettier_version integrity mismatch: got $got" >&2
    exit 1
  fi
  rm -rf "$dir/prettier" && mkdir -p "$dir/prettier"
  tar -xzf "$tmp/prettier-$prettier_version.tgz" -C "$dir/prettier"
  rm -rf "$tmp"
fi
cat > "$dir/bin/prettier" <<EOS
#!/bin/sh
exec node "$dir/prettier/package/bin/prettier.cjs" "\$@"
EOS
chmod +x "$dir/bin/prettier"
echo "$dir"
