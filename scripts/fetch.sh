#!/usr/bin/env bash
# Fetches what the real-software columns and rows boot, into the download cache, with the
# project's PRIVATE apt configuration (the system's apt sources are never read or changed, and
# nothing is installed):
#   - every kernel/linux/*.json: the pinned Debian kernel package; only its `image` is taken out
#     (dpkg-deb --fsys-tarfile | tar, never the whole package) to
#     <root>/linux/<package>_<version>_<architecture>/vmlinuz, and `pvmatrix vmlinux` extracts
#     the uncompressed ELF beside it (vmlinux). So this runs after the build (--pvmatrix PATH).
#   - every hypervisor-versions/xen-*/version.json: the pinned Xen hypervisor package; its
#     `binary`, gunzipped, to <xen cache>/<package version>/xen.
# Download root: $PVMATRIX_DOWNLOADS, else ~/.cache/pvmatrix (harness/linux_release.cpp
# downloads_dir(); not $PVMATRIX_CACHE, which is the result cache and which `pvmatrix gate`
# points elsewhere). Xen cache: $PVMATRIX_XEN_CACHE, else <root>/xen (hypervisor_version.cpp).
# apt's own state lives in <root>/apt (sources.list generated from the descriptors: the suites
# they name, each with only the architectures they need; lists, cache, an empty dpkg status).
#
# Idempotent: what is in the cache is reported "cached" and nothing is downloaded; `apt-get
# update` runs only when something must be downloaded and the lists are missing, older than a
# day, or for other sources. An index that fails to update (a mirror out of sync) is reported
# and the other suites go on. Everything is written in a work directory and moved into place
# whole: a failed or interrupted run leaves no half entries.
#
# A descriptor with an unknown key or a missing field, a package or version apt cannot find, an
# image path not in the package: a located message ("file:line:col: field: message") on stderr;
# the other entries go on. Exit 0 when everything is in the cache, 1 when anything is missing
# (callers treat that as non-fatal: the cells on it are SKIP with the reason), 2 on bad usage.
#
# Usage: scripts/fetch.sh [--pvmatrix PATH]     (default: build/pvmatrix in the repository)
# Env: PVMATRIX_DOWNLOADS, PVMATRIX_XEN_CACHE, PVMATRIX_DEBIAN_MIRROR (http://deb.debian.org/debian),
#      PVMATRIX_DEBIAN_SECURITY_MIRROR (http://deb.debian.org/debian-security).
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
pvmatrix="$repo/build/pvmatrix"
while [ $# -gt 0 ]; do
  case "$1" in
    --pvmatrix) [ $# -ge 2 ] || { echo "fetch: --pvmatrix needs a path" >&2; exit 2; }; pvmatrix=$2; shift 2 ;;
    --pvmatrix=*) pvmatrix=${1#--pvmatrix=}; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fetch: unknown argument \"$1\" (usage: scripts/fetch.sh [--pvmatrix PATH])" >&2; exit 2 ;;
  esac
done
case "$pvmatrix" in /*) ;; *) pvmatrix="$PWD/$pvmatrix" ;; esac

home=${HOME:-/root}
root=${PVMATRIX_DOWNLOADS:-$home/.cache/pvmatrix}
xen_cache=${PVMATRIX_XEN_CACHE:-$root/xen}
mirror=${PVMATRIX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${PVMATRIX_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
apt_dir="$root/apt"

mkdir -p "$root/linux" "$xen_cache" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" || exit 1
# One run at a time per cache (a second waits): the entries and apt's lists are shared.
exec 9>"$root/.fetch.lock" && flock 9 || { echo "fetch: cannot lock $root/.fetch.lock" >&2; exit 1; }

work_dirs=()
cleanup() { for d in "${work_dirs[@]}"; do [ -n "$d" ] && rm -rf -- "$d"; done; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

missing=0
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# --- The descriptors, validated; one tab-separated line per entry:
# kind file name package version suite arch path loc_package loc_name loc_version loc_path
entries=$(/usr/bin/python3 - "$repo" <<'PY'
import glob, json, os, re, sys

repo = sys.argv[1]
errors = 0

def strip_comments(text):
    """// and /* */ comments (outside strings) become spaces: line:col stay right."""
    out, i, n, in_str = list(text), 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            if c == '\\': i += 2; continue
            if c == '"': in_str = False
        elif c == '"': in_str = True
        elif text.startswith('//', i):
            while i < n and text[i] != '\n': out[i] = ' '; i += 1
            continue
        elif text.startswith('/*', i):
            j = text.find('*/', i + 2); j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != '\n': out[k] = ' '
            i = j; continue
        i += 1
    return ''.join(out)

def position(text, offset):
    line = text.count('\n', 0, offset) + 1
    return line, offset - (text.rfind('\n', 0, offset) + 1) + 1

def locate(path, text, keys):
    """file:line:col of the key path (("package", "version")), found textually after its parent."""
    at = 0
    for k in keys:
        m = re.compile(r'"%s"\s*:' % re.escape(k)).search(text, at)
        if not m: break
        at = m.start()
    line, col = position(text, at)
    return "%s:%d:%d" % (path, line, col)

def error(loc, field, message):
    global errors
    errors += 1
    print("fetch: %s: %s%s" % (loc, field + ": " if field else "", message), file=sys.stderr)

def load(path):
    try:
        raw = open(path, encoding='utf-8').read()
    except (OSError, UnicodeDecodeError) as e:
        error(path, "", "cannot read: %s" % e); return None, None
    text = strip_comments(raw)
    try:
        return json.loads(text), text
    except json.JSONDecodeError as e:
        error("%s:%d:%d" % (path, e.lineno, e.colno), "", e.msg); return None, None

def check_object(path, text, obj, where, allowed, required):
    ok = True
    for k in obj:
        if k not in allowed:
            error(locate(path, text, where + [k]), ".".join(where + [k]), 'unknown key "%s"' % k); ok = False
    for k in required:
        if k not in obj:
            error(locate(path, text, where), ".".join(where + [k]) if where else k, "missing"); ok = False
        elif not isinstance(obj[k], str) or not obj[k]:
            error(locate(path, text, where + [k]), ".".join(where + [k]), "expected a non-empty string"); ok = False
    return ok

def relative_path(path, text, field, value):
    if value.startswith('/') or '..' in value.split('/'):
        error(locate(path, text, field), ".".join(field), 'expected a relative path inside the package, got "%s"' % value)
        return False
    return True

def emit(kind, path, text, name, p, arch, key):
    print("\t".join([kind, path, name, p["name"], p["version"], p["suite"], arch, p[key],
                     locate(path, text, ["package"]), locate(path, text, ["package", "name"]),
                     locate(path, text, ["package", "version"]), locate(path, text, ["package", key])]))

for path in sorted(glob.glob(os.path.join(repo, "kernel", "linux", "*.json"))):
    d, text = load(path)
    if d is None: continue
    if not isinstance(d, dict): error(path, "", "expected an object"); continue
    ok = check_object(path, text, d, [], ["name", "family", "summary", "package", "switches"], ["name", "family", "summary"])
    if "family" in d and d["family"] != "linux":
        error(locate(path, text, ["family"]), "family", 'expected "linux", got "%s"' % d["family"]); ok = False
    stem = os.path.splitext(os.path.basename(path))[0]
    if isinstance(d.get("name"), str) and d["name"] != stem:
        error(locate(path, text, ["name"]), "name", '"%s" differs from its file name "%s.json"' % (d["name"], stem)); ok = False
    p = d.get("package")
    if not isinstance(p, dict):
        error(locate(path, text, ["package"] if "package" in d else []), "package", "missing" if p is None else "expected an object"); continue
    ok &= check_object(path, text, p, ["package"], ["name", "version", "suite", "architecture", "image"],
                       ["name", "version", "suite", "architecture", "image"])
    if not ok: continue
    if p["architecture"] not in ("amd64", "i386"):
        error(locate(path, text, ["package", "architecture"]), "package.architecture",
              'expected "amd64" or "i386", got "%s"' % p["architecture"]); continue
    if not relative_path(path, text, ["package", "image"], p["image"]): continue
    emit("linux", path, text, d["name"], p, p["architecture"], "image")

for path in sorted(glob.glob(os.path.join(repo, "hypervisor-versions", "xen-*", "version.json"))):
    d, text = load(path)
    if d is None: continue
    if not isinstance(d, dict): error(path, "", "expected an object"); continue
    # The rest of version.json is the harness's (hypervisor_version.cpp); fetching needs `package`.
    p = d.get("package")
    if not isinstance(p, dict):
        error(locate(path, text, ["package"] if "package" in d else []), "package", "missing" if p is None else "expected an object"); continue
    if not check_object(path, text, p, ["package"], ["name", "version", "binary", "suite"], ["name", "version", "binary"]): continue
    if "suite" in p and (not isinstance(p["suite"], str) or not p["suite"]):
        error(locate(path, text, ["package", "suite"]), "package.suite", "expected a non-empty string"); continue
    if not relative_path(path, text, ["package", "binary"], p["binary"]): continue
    p = dict(p); p.setdefault("suite", "bookworm")
    name = d.get("name") if isinstance(d.get("name"), str) else os.path.basename(os.path.dirname(path))
    emit("xen", path, text, name, p, "amd64", "binary")

sys.exit(1 if errors else 0)
PY
) || missing=1

# --- What is missing from the cache.
todo=()
while IFS= read -r line; do
  [ -n "$line" ] || continue
  IFS=$'\t' read -r kind file name pkg ver suite arch path loc_pkg loc_name loc_ver loc_path <<<"$line"
  if [ "$kind" = linux ]; then
    dest="$root/linux/${pkg}_${ver}_${arch}"
    if [ -s "$dest/vmlinuz" ] && [ -s "$dest/vmlinux" ]; then
      echo "fetch: $name: cached ($dest)"
      continue
    fi
    if [ ! -x "$pvmatrix" ]; then
      echo "fetch: $name: not fetched: $pvmatrix is missing (build first, or give --pvmatrix PATH)" >&2
      missing=1; continue
    fi
  else
    dest="$xen_cache/$ver"
    if [ -s "$dest/xen" ]; then
      echo "fetch: $name: cached ($dest/xen)"
      continue
    fi
  fi
  todo+=("$line")
done <<<"$entries"

if [ ${#todo[@]} -eq 0 ]; then
  exit $missing
fi

# --- The private apt configuration: the suites every descriptor names, each with the
# architectures its entries need (bookworm-security: amd64 only, its i386 index is not needed).
sources="$apt_dir/sources.list"
new_sources=$(printf '%s\n' "$entries" | awk -F'\t' -v m="$mirror" -v s="$security_mirror" -v k="$keyring" '
  NF >= 7 { if (!(($6, $7) in seen)) { seen[$6, $7] = 1; archs[$6] = archs[$6] ? archs[$6] "," $7 : $7 }
            if (!($6 in order)) { order[$6] = ++n; suite[n] = $6 } }
  END { for (i = 1; i <= n; i++) { x = suite[i]
          printf "deb [arch=%s signed-by=%s] %s %s main\n", archs[x], k, (x ~ /-security$/ ? s : m), x } }')
if [ ! -f "$sources" ] || [ "$(cat "$sources")" != "$new_sources" ]; then
  printf '%s\n' "$new_sources" >"$sources.tmp" && mv "$sources.tmp" "$sources"
fi
: >>"$apt_dir/status"
apt_opts=(
  -o "Dir::Etc::SourceList=$sources" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "Dir::State::status=$apt_dir/status"
  -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Architectures::=i386
  -o Acquire::Languages=none -o APT::Sandbox::User=root -q
)

# The lists: updated when missing, older than a day, or made for other sources.
stamp="$apt_dir/updated"
stale=0
if [ ! -f "$stamp" ] || ! cmp -s "$stamp" "$sources" || [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then
  stale=1
fi
if [ $stale -eq 1 ]; then
  t0=$(now)
  echo "fetch: apt-get update (private lists in $apt_dir) ..."
  if apt-get "${apt_opts[@]}" update >"$apt_dir/update.log" 2>&1; then
    cp "$sources" "$stamp"
    echo "fetch: apt-get update done ($(since "$t0"))"
  else
    # Some index failed (e.g. "File has unexpected size" on a mirror out of sync): the others
    # were updated; a package only in the failed one is reported below. No stamp: retried next run.
    echo "fetch: apt-get update: some indexes failed ($(since "$t0")); going on with the others:" >&2
    grep -E '^(E|W|Err):' "$apt_dir/update.log" | head -n 6 | sed 's/^/fetch:   /' >&2
  fi
fi

# Downloads `pkg[:arch]=ver` into the work dir $1; on failure prints a located message.
download() {
  local w=$1 spec=$2 file=$3 pkg=$4 ver=$5 suite=$6 arch=$7 loc_name=$8 loc_ver=$9 loc_pkg=${10}
  local batched
  batched="$batch/$(deb_name "$pkg" "$ver" "$arch")"
  if [ -s "$batched" ]; then mv -- "$batched" "$w/" && return 0; fi
  if (cd "$w" && apt-get "${apt_opts[@]}" download "$spec" >"$w/apt.log" 2>&1) && compgen -G "$w/*.deb" >/dev/null; then
    return 0
  fi
  if grep -q "Unable to locate package\|has no installation candidate\|No packages found" "$w/apt.log"; then
    echo "fetch: $loc_name: package.name: apt cannot find package \"$pkg\" ($arch) in $suite" >&2
  elif grep -q "Version '.*' for '.*' was not found\|Can't select version" "$w/apt.log"; then
    echo "fetch: $loc_ver: package.version: apt cannot find $pkg version \"$ver\" ($arch) in $suite" >&2
  else
    echo "fetch: $loc_pkg: package: cannot download $spec from $suite:" >&2
  fi
  grep -E '^(E|W|Err):' "$w/apt.log" | tail -n 3 | sed 's/^/fetch:   /' >&2
  return 1
}

# Takes ./$path out of the .deb in $w into $w/$out; on failure a located message.
take_out() {
  local w=$1 path=$2 out=$3 loc_path=$4 field=$5 pkg=$6 ver=$7
  local deb
  deb=$(compgen -G "$w/*.deb" | head -n 1)
  mkdir -p "$w/x"
  # --occurrence=1: tar stops at the file instead of reading the rest of the package (dpkg-deb
  # then gets SIGPIPE: only tar's status counts).
  dpkg-deb --fsys-tarfile "$deb" 2>"$w/dpkg.log" | tar -x -C "$w/x" --occurrence=1 -f - "./$path" 2>"$w/tar.log"
  local tar_rc=${PIPESTATUS[1]}
  if [ "$tar_rc" -ne 0 ] || [ ! -s "$w/x/$path" ]; then
    if grep -q "Not found in archive" "$w/tar.log"; then
      echo "fetch: $loc_path: $field: \"$path\" is not in $pkg=$ver" >&2
    else
      echo "fetch: $loc_path: $field: cannot take \"$path\" out of $(basename "$deb"):" >&2
      cat "$w/dpkg.log" "$w/tar.log" | tail -n 3 | sed 's/^/fetch:   /' >&2
    fi
    return 1
  fi
  mv "$w/x/$path" "$out"
}

# Moves the complete work result $1 to $2 (replacing an incomplete $2).
install_dir() {
  local src=$1 dest=$2
  rm -rf -- "$dest.old.$$"
  [ -e "$dest" ] && mv -T -- "$dest" "$dest.old.$$"
  if mv -T -- "$src" "$dest"; then rm -rf -- "$dest.old.$$"; return 0; fi
  [ -e "$dest.old.$$" ] && mv -T -- "$dest.old.$$" "$dest"
  return 1
}

have_pvmatrix=1
if [ ! -x "$pvmatrix" ]; then have_pvmatrix=0; fi

# Every package in one apt-get call (apt reads its lists once, several seconds); an entry whose
# .deb did not come (that call fails as a whole on one bad name or version) is then downloaded
# alone, which names what is wrong.
deb_name() { printf '%s_%s_%s.deb' "$1" "${2//:/%3a}" "$3"; }
batch=$(mktemp -d "$root/.download.XXXXXX") || exit 1
work_dirs+=("$batch")
specs=()
for line in "${todo[@]}"; do
  IFS=$'\t' read -r kind file name pkg ver suite arch _ <<<"$line"
  [ "$kind" = linux ] && [ $have_pvmatrix -eq 0 ] && continue
  if [ "$arch" = i386 ]; then specs+=("$pkg:i386=$ver"); else specs+=("$pkg=$ver"); fi
done
if [ ${#specs[@]} -gt 0 ]; then
  t0=$(now)
  if (cd "$batch" && apt-get "${apt_opts[@]}" download "${specs[@]}" >"$batch/apt.log" 2>&1); then
    echo "fetch: downloaded ${#specs[@]} package(s) ($(since "$t0"))"
  fi
fi

for line in "${todo[@]}"; do
  IFS=$'\t' read -r kind file name pkg ver suite arch path loc_pkg loc_name loc_ver loc_path <<<"$line"
  t0=$(now)
  if [ "$kind" = linux ]; then
    dest="$root/linux/${pkg}_${ver}_${arch}"
    if [ $have_pvmatrix -eq 0 ]; then
      echo "fetch: $name: not fetched: $pvmatrix is missing (build first, or give --pvmatrix PATH)" >&2
      missing=1; continue
    fi
    spec=$pkg; [ "$arch" = i386 ] && spec="$pkg:i386"
    w=$(mktemp -d "$root/linux/.work.XXXXXX") || { missing=1; continue; }
    work_dirs+=("$w")
    mkdir -p "$w/out"
    if download "$w" "$spec=$ver" "$file" "$pkg" "$ver" "$suite" "$arch" "$loc_name" "$loc_ver" "$loc_pkg" &&
       take_out "$w" "$path" "$w/out/vmlinuz" "$loc_path" package.image "$pkg" "$ver"; then
      # Exit 126/127 happens while the build relinks pvmatrix: retried a few times.
      for attempt in 1 2 3 4; do
        msg=$("$pvmatrix" vmlinux "$w/out/vmlinuz" -o "$w/out/vmlinux" 2>&1)
        rc=$?
        [ $rc -eq 126 ] || [ $rc -eq 127 ] || break
        sleep 3
      done
      if [ $rc -eq 0 ]; then
        deb=$(compgen -G "$w/*.deb" | head -n 1)
        printf 'package=%s\nversion=%s\nsuite=%s\narchitecture=%s\nimage=%s\ndeb=%s\ndeb_sha256=%s\ndescriptor=%s\n' \
          "$pkg" "$ver" "$suite" "$arch" "$path" "$(basename "$deb")" "$(sha256sum "$deb" | cut -d' ' -f1)" \
          "${file#"$repo"/}" >"$w/out/source.txt"
        if install_dir "$w/out" "$dest"; then
          what=$(printf '%s\n' "$msg" | sed -n 's/^.*: \([a-z0-9]*\) payload -> .* (\([0-9]* bytes\), \(ELF[0-9]*\))$/\1 payload, vmlinux \2 \3/p')
          echo "fetch: $name: $pkg=$ver ($suite, $arch) -> $dest (${what:-vmlinux extracted}, $(since "$t0"))"
        else
          echo "fetch: $name: cannot move the result to $dest" >&2; missing=1
        fi
      elif [ $rc -eq 2 ]; then  # the image itself is bad: name it, not the work directory
        msg=${msg//"$w/out/vmlinuz"/$path}
        echo "fetch: $loc_path: package.image: $path in $pkg=$ver: ${msg#pvmatrix vmlinux: "$path": }" >&2; missing=1
      else
        echo "fetch: $name: $pvmatrix vmlinux failed (exit $rc): $msg" >&2; missing=1
      fi
    else
      missing=1
    fi
  else
    dest="$xen_cache/$ver"
    w=$(mktemp -d "$xen_cache/.work.XXXXXX") || { missing=1; continue; }
    work_dirs+=("$w")
    mkdir -p "$w/out"
    if download "$w" "$pkg=$ver" "$file" "$pkg" "$ver" "$suite" "$arch" "$loc_name" "$loc_ver" "$loc_pkg" &&
       take_out "$w" "$path" "$w/binary" "$loc_path" package.binary "$pkg" "$ver"; then
      if gzip -dc "$w/binary" >"$w/out/xen" 2>"$w/gzip.log" && [ "$(head -c 4 "$w/out/xen" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
        deb=$(compgen -G "$w/*.deb" | head -n 1)
        printf 'package=%s\nversion=%s\nsuite=%s\nbinary=%s\ndeb=%s\ndeb_sha256=%s\ndescriptor=%s\n' \
          "$pkg" "$ver" "$suite" "$path" "$(basename "$deb")" "$(sha256sum "$deb" | cut -d' ' -f1)" \
          "${file#"$repo"/}" >"$w/out/source.txt"
        if install_dir "$w/out" "$dest"; then
          echo "fetch: $name: $pkg=$ver ($suite) -> $dest/xen ($(stat -c %s "$dest/xen") bytes, $(since "$t0"))"
        else
          echo "fetch: $name: cannot move the result to $dest" >&2; missing=1
        fi
      else
        echo "fetch: $loc_path: package.binary: \"$path\" in $pkg=$ver is not a gzipped ELF: $(head -c 200 "$w/gzip.log")" >&2
        missing=1
      fi
    else
      missing=1
    fi
  fi
  rm -rf -- "$w"
done

exit $missing
