#!/usr/bin/env bash
# Builds the GoogleTest unit tests with ASan and UBSan (-DPVMATRIX_SANITIZE=ON) into
# build-asan/ and runs them. Only host code is built: the guest images are not needed.
# Usage: scripts/sanitize.sh [gtest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PVMATRIX_ASAN_BUILD:-build-asan}
cmake -S . -B "$build" -DPVMATRIX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j "${PVMATRIX_JOBS:-2}" --target unit_tests
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
exec "$build/unit_tests" "$@"
