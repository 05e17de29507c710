#!/usr/bin/env bash
# fetch.sh OUT_DIR — fetch the tree-sitter grammars pinned in grammars.lock into OUT_DIR.
#
# Runs one `npm pack` for every package in the lock (scripts are never run), checks each
# tarball's sha512 against the lock's integrity, and extracts each package into
# OUT_DIR/<name>/ (without npm's leading `package/` directory). OUT_DIR/.stamp records the
# sha256 of the lock: when it matches, nothing is fetched and the script exits at once.
# npm runs with --prefer-offline: a tarball already in npm's cache is not downloaded again
# (the sha512 check below applies all the same). Any failure exits non-zero with a message
# on stderr naming what went wrong. Works with CI=true and without stdin.
#
# Environment: GRAMMARS_LOCK overrides the lock file (default: grammars.lock beside this
# script); NPM (default: npm) names the npm client. Usual npm settings (registry, cache,
# proxy) come from npm's own config / NPM_CONFIG_* variables.
set -euo pipefail

die() { printf 'fetch.sh: error: %s\n' "$*" >&2; exit 1; }

[[ $# -eq 1 && -n "$1" ]] || die "usage: fetch.sh OUT_DIR"
out_dir=$1
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lock=${GRAMMARS_LOCK:-$script_dir/grammars.lock}
npm_bin=${NPM:-npm}

[[ -r "$lock" ]] || die "lock file not readable: $lock"
for tool in sha256sum openssl base64 tar mktemp; do
  command -v "$tool" >/dev/null 2>&1 || die "required tool not found on PATH: $tool"
done

lock_sha=$(sha256sum "$lock" | cut -d' ' -f1)

# ---- parse the lock -------------------------------------------------------------------
names=() versions=() integrities=()
lineno=0
while IFS= read -r line || [[ -n "$line" ]]; do
  lineno=$((lineno + 1))
  line=${line%$'\r'}
  [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
  read -r name version integrity extra <<<"$line" || true
  [[ -n "${name:-}" && -n "${version:-}" && -n "${integrity:-}" && -z "${extra:-}" ]] ||
    die "$lock:$lineno: expected 'name version sha512-integrity', got: $line"
  [[ "$integrity" == sha512-* ]] ||
    die "$lock:$lineno: integrity of $name must start with 'sha512-', got: $integrity"
  [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] ||
    die "$lock:$lineno: version of $name must be an exact version, got: $version"
  for n in "${names[@]+"${names[@]}"}"; do
    [[ "$n" != "$name" ]] || die "$lock:$lineno: package $name is listed twice"
  done
  names+=("$name") versions+=("$version") integrities+=("$integrity")
done <"$lock"
[[ ${#names[@]} -gt 0 ]] || die "no packages listed in $lock"

# ---- up to date? ----------------------------------------------------------------------
up_to_date() {
  [[ -f "$out_dir/.stamp" && "$(cat "$out_dir/.stamp")" == "$lock_sha" ]] || return 1
  local name
  for name in "${names[@]}"; do
    [[ -f "$out_dir/$name/package.json" ]] || return 1
  done
}
up_to_date && exit 0

mkdir -p "$out_dir" || die "cannot create $out_dir"
out_dir=$(cd "$out_dir" && pwd)
# Several build trees may share OUT_DIR (DOPPEL_GRAMMARS_DIR): one fetch at a time.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$out_dir/.lock" || die "cannot open $out_dir/.lock"
  flock 9 || die "cannot lock $out_dir/.lock"
  up_to_date && exit 0
fi

command -v "$npm_bin" >/dev/null 2>&1 ||
  die "npm not found on PATH (needed to fetch the grammars in $lock); install nodejs/npm"

rm -f "$out_dir/.stamp"

work=$(mktemp -d "${TMPDIR:-/tmp}/doppel-grammars.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$work"' EXIT

specs=()
for i in "${!names[@]}"; do specs+=("${names[$i]}@${versions[$i]}"); done

printf 'fetch.sh: fetching %d grammar packages from npm\n' "${#specs[@]}" >&2
# One npm call for all packages: npm start-up dominates when called per package.
# Run from the empty temp dir so no package.json of ours is involved; no stdin, no prompts.
npm_pack() { # npm_pack LOGLEVEL_FLAG... : pack every spec into $work
  (cd "$work" && CI=true "$npm_bin" pack "${specs[@]}" "$@" \
     --ignore-scripts --prefer-offline --pack-destination "$work" \
     --no-update-notifier --no-fund --no-audit </dev/null 9>&-)
}
if ! npm_pack --silent >"$work/npm-pack.out" 2>&1; then
  # --silent also hides npm's reason: ask again with errors shown (only on this failure path).
  npm_pack --loglevel=error >/dev/null 2>"$work/npm-pack.err" || true
  sed 's/^/  /' "$work/npm-pack.err" >&2 || true
  die "npm pack failed for: ${specs[*]}"
fi

# ---- verify every tarball, then extract ----------------------------------------------
# Nothing in OUT_DIR is touched until all tarballs match the lock.
tarballs=()
for i in "${!names[@]}"; do
  name=${names[$i]} version=${versions[$i]} expected=${integrities[$i]#sha512-}
  # npm's tarball file name: @scope/pkg -> scope-pkg-VERSION.tgz, pkg -> pkg-VERSION.tgz
  base=${name#@}; base=${base//\//-}
  tgz="$work/$base-$version.tgz"
  [[ -f "$tgz" ]] || die "npm pack did not produce $(basename "$tgz") for $name@$version"
  if ! actual=$(openssl dgst -sha512 -binary "$tgz" | base64 -w0) || [[ -z "$actual" ]]; then
    die "cannot hash the tarball of $name@$version"
  fi
  if [[ "$actual" != "$expected" ]]; then
    die "integrity mismatch for $name@$version: the lock says sha512-$expected but the tarball is sha512-$actual (a changed lock line, or a tampered registry/cache)"
  fi
  tarballs+=("$tgz")
done

for i in "${!names[@]}"; do
  name=${names[$i]} version=${versions[$i]} tgz=${tarballs[$i]}
  stage="$work/x/$name"
  mkdir -p "$stage"
  # npm tarballs hold one top directory (normally package/): strip it.
  tar -xzf "$tgz" -C "$stage" --strip-components=1 --no-same-owner ||
    die "cannot extract the tarball of $name@$version"
  [[ -f "$stage/package.json" ]] || die "tarball of $name@$version has no package.json"
  dest="$out_dir/$name"
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest"
  mv "$stage" "$dest" || die "cannot move $name into $dest"
done

# Entries of OUT_DIR not in the lock are left alone (OUT_DIR may be shared; nothing here
# deletes what it did not create).

if ! { printf '%s\n' "$lock_sha" >"$out_dir/.stamp.tmp" && mv "$out_dir/.stamp.tmp" "$out_dir/.stamp"; }; then
  die "cannot write $out_dir/.stamp"
fi
printf 'fetch.sh: %d grammar packages verified and extracted into %s\n' "${#names[@]}" "$out_dir" >&2
