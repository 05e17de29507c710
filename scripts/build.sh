#!/usr/bin/env bash
# Configures and builds doppel into build/ (or $DOPPEL_BUILD_DIR) with Ninja; incremental.
# Extra arguments go to cmake's configure step (e.g. -DDOPPEL_SANITIZE=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dir=${DOPPEL_BUILD_DIR:-build}
if [ ! -f "$dir/build.ninja" ] || [ $# -gt 0 ]; then
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
fi
ninja -C "$dir" ${DOPPEL_TARGETS:-}
