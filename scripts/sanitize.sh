#!/usr/bin/env bash
# Builds the GoogleTest unit tests with ASan and UBSan (-DPVMATRIX_SANITIZE=ON) into
# build-asan/ and runs them. Only host code is instrumented and built here: the guest images
# some unit tests read come from the regular build ($PVMATRIX_BUILD, default build/), which
# must exist (scripts/build.sh).
# Usage: scripts/sanitize.sh [gtest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PVMATRIX_ASAN_BUILD:-build-asan}
images=$(realpath "${PVMATRIX_BUILD:-build}/images")
[ -d "$images" ] || { echo "sanitize.sh: $images is missing: build first (scripts/build.sh)" >&2; exit 2; }
cmake -S . -B "$build" -DPVMATRIX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
# The unit tests look for images in <build>/images: borrow the regular build's.
if [ ! -L "$build/images" ]; then rmdir "$build/images" 2>/dev/null || rm -rf "$build/images"; fi
ln -sfn "$images" "$build/images"
cmake --build "$build" -j "${PVMATRIX_JOBS:-2}" --target unit_tests
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
exec "$build/unit_tests" "$@"
