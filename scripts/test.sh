#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, and runs every test with CTest, first in
# the optimized build (and the Slurm scale-out test, tests/slurm_test.sh), then in an
# AddressSanitizer + UndefinedBehaviorSanitizer build; then every libFuzzer target for a bounded time (DOPPEL_FUZZ_SECONDS per target, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
(cd build && ctest --output-on-failure -j2 --timeout 600)
# Scale-out on a real single-node Slurm cluster started here (as root: munged and the daemons).
if [ "$(id -u)" -eq 0 ]; then bash tests/slurm_test.sh build; else sudo -E bash tests/slurm_test.sh build; fi
if [ "${DOPPEL_SKIP_SANITIZERS:-0}" != 1 ]; then
  DOPPEL_BUILD_DIR=build-asan bash scripts/build.sh -DDOPPEL_SANITIZE=ON -DDOPPEL_NATIVE=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j2 --timeout 900)
fi
if [ "${DOPPEL_SKIP_FUZZ:-0}" != 1 ]; then
  bash scripts/fuzz.sh "${DOPPEL_FUZZ_SECONDS:-20}"
fi
