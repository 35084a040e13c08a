#!/usr/bin/env bash
# The main job: the nightly matrix over the shipped world. Installs what is missing,
# builds, runs every cell, and says where the HTML report is.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
# Real Xen and Debian's kernels into the download cache (pinned, private apt configuration).
# Not fatal: without network their cells are SKIP with the reason.
scripts/fetch.sh || echo "fetch: some Xen or kernel packages are missing; their cells will be SKIP with the reason" >&2
out=${1:-out/nightly}
rc=0
# The run records itself in the history store (history.sqlite beside $out, or $PVMATRIX_HISTORY):
# each cell's report says since when it fails; history.html shows the matrix over time.
build/pvmatrix run matrix/nightly.json --out "$out" || rc=$?
history=${PVMATRIX_HISTORY:-$(dirname "$out")/history.sqlite}
build/pvmatrix history --history "$history" --matrix nightly --html "$out/history.html" >/dev/null || true
echo
echo "HTML report: $(realpath "$out")/report.html"
if [ -f "$out/history.html" ]; then echo "History:     $(realpath "$out")/history.html (pvmatrix history --history $history)"; fi
exit $rc
