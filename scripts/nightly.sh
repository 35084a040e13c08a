#!/usr/bin/env bash
# The main job: the nightly matrix over the shipped world. Installs what is missing,
# builds, runs every cell, and says where the HTML report is.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
out=${1:-out/nightly}
rc=0
build/pvmatrix run matrix/nightly.json --out "$out" || rc=$?
echo
echo "HTML report: $(realpath "$out")/report.html"
exit $rc
