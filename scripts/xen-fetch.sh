#!/bin/sh
# Fetches the Xen hypervisor of every hypervisor-versions/xen-*/version.json into the cache
# ($PVMATRIX_XEN_CACHE, else ~/.cache/pvmatrix/xen): apt-get download of the pinned package,
# dpkg-deb -x (no maintainer scripts run, nothing installed system-wide), the gzipped
# hypervisor unpacked to <cache>/<package version>/xen. Idempotent: a version already in the
# cache is not fetched again. A version that cannot be fetched (no network, package gone) is
# reported and skipped: its cells are SKIP with the reason (harness/world.cpp), never an error.
# Exit 0 if every version is in the cache, 1 if any is missing.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${PVMATRIX_XEN_CACHE:-${HOME:-/root}/.cache/pvmatrix/xen}
mkdir -p "$cache" || exit 1
missing=0
for vj in "$root"/hypervisor-versions/xen-*/version.json; do
  [ -f "$vj" ] || continue
  fields=$(/usr/bin/python3 - "$vj" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
text = re.sub(r'^\s*//.*$', '', text, flags=re.M)  # version.json allows // comment lines
p = json.loads(text)["package"]
print(p["name"], p["version"], p["binary"])
PY
) || { echo "xen-fetch: cannot read $vj" >&2; missing=1; continue; }
  set -- $fields
  pkg=$1 ver=$2 bin=$3
  dest="$cache/$ver"
  if [ -s "$dest/xen" ]; then
    echo "xen-fetch: $pkg=$ver cached ($dest/xen)"
    continue
  fi
  work=$(mktemp -d "$cache/.fetch.XXXXXX") || { missing=1; continue; }
  chmod 777 "$work"  # apt-get download drops privileges to _apt
  if (cd "$work" && apt-get download -q "$pkg=$ver" >"$work/apt.log" 2>&1) &&
     deb=$(ls "$work"/*.deb 2>/dev/null | head -n 1) && [ -n "$deb" ] &&
     dpkg-deb -x "$deb" "$work/root" && gzip -dc "$work/root/$bin" >"$work/xen" && [ -s "$work/xen" ]; then
    mkdir -p "$dest"
    cp "$deb" "$dest/" && cp "$work/root/$bin" "$dest/" && mv "$work/xen" "$dest/xen"
    echo "xen-fetch: $pkg=$ver -> $dest/xen"
  else
    echo "xen-fetch: cannot fetch $pkg=$ver (cells on it will be SKIP):" >&2
    tail -n 3 "$work/apt.log" >&2 2>/dev/null
    missing=1
  fi
  rm -rf "$work"
done
exit $missing
