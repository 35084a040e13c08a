#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, runs GoogleTest (ctest) and the
# pytest end-to-end suites (real QEMU boots, a real libvirt daemon, real Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
exec /usr/bin/python3 -m pytest -q tests/e2e "$@"
