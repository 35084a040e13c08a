#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang, ASan and UBSan into build-fuzz/ and
# runs each for a bounded time, starting from its seed corpus (tests/fuzz/corpus/<target>/).
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]
# Exit status: 0 no finding; 1 a target crashed (the reproducer is in build-fuzz/findings/).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_protocol fuzz_matrix)
build=${PVMATRIX_FUZZ_BUILD:-build-fuzz}
jobs=${PVMATRIX_JOBS:-2}
# 0 = a random seed; CI pins one (PVMATRIX_FUZZ_SEED) so a finding there reproduces exactly.
seed=${PVMATRIX_FUZZ_SEED:-0}

CC=clang CXX=clang++ cmake -S . -B "$build" -DPVMATRIX_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

mkdir -p "$build/findings"
status=0
for t in "${targets[@]}"; do
  seeds="tests/fuzz/corpus/${t#fuzz_}"
  work="$build/corpus/$t"  # grows across runs; the seeds in git stay small
  mkdir -p "$work"
  echo "== $t: ${seconds}s from $seeds"
  if ! UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
      "$build/fuzz/$t" -max_total_time="$seconds" -seed="$seed" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$build/findings/$t-" "$work" "$seeds"; then
    echo "!! $t found a crash: see $build/findings/$t-*" >&2
    status=1
  fi
done
exit $status
