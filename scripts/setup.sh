#!/usr/bin/env bash
# Installs the Debian packages doppel needs to build, test and benchmark.
# Idempotent: when every package is present it only checks and returns (well under a second).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libxxhash-dev libroaring-dev libtbb-dev librocksdb-dev libtree-sitter-dev catch2
  libutf8proc-dev libsimdjson-dev nlohmann-json3-dev libcpp-httplib-dev libcli11-dev
  libzstd-dev zlib1g-dev libjemalloc-dev libbenchmark-dev clang-format zstd curl chromium python3
  clang libclang-rt-14-dev
  slurmctld slurmd slurm-client munge
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# npm fetches the pinned tree-sitter grammars; the Debian package only when no npm is on PATH.
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
