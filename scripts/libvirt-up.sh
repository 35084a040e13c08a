#!/usr/bin/env bash
# Makes a libvirt daemon available for `pvmatrix --backend libvirt`, without systemd.
# Idempotent: starts only what is not already answering. Needs root.
#
#   scripts/libvirt-up.sh              the system daemon: virtlogd + libvirtd, checked with
#                                      `virsh -c qemu:///system uri`; prints the URI
#   scripts/libvirt-up.sh --second     a second, independent libvirt "host" on this machine:
#                                      its own libvirtd in its own mount + network namespace
#                                      (private /etc/libvirt, /run/libvirt, /var/lib/libvirt,
#                                      /var/log/libvirt, /var/cache/libvirt), listening on
#                                      /run/pvmatrix-host2/libvirt-sock; prints its URI:
#                                      qemu+unix:///system?socket=/run/pvmatrix-host2/libvirt-sock
#   scripts/libvirt-up.sh --second --stop   stops that second daemon (and its domains)
#
# The second host shares the file system with this one (only libvirt's own directories are
# private), so images and pvmatrix's serial files are at the same absolute path on both: the
# "shared path" way remote hosts get images (see harness/libvirt_launcher.h). For a real
# remote host, mount the image and work directories at the same paths there.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECOND=0
STOP=0
for arg in "$@"; do
  case "$arg" in
    --second) SECOND=1 ;;
    --stop) STOP=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "libvirt-up: unknown argument $arg" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "libvirt-up: needs root (libvirtd runs as the system daemon here)" >&2
  exit 2
fi

alive() {  # pid file -> true if that process runs
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

wait_uri() {  # uri -> waits up to 30 s for the daemon to answer
  local uri="$1"
  for _ in $(seq 1 150); do
    if timeout 10 virsh -q -c "$uri" uri >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "libvirt-up: no answer from $uri" >&2
  return 1
}

if ! command -v libvirtd >/dev/null || ! command -v virsh >/dev/null; then
  "$ROOT/scripts/setup.sh" >&2
fi

# ---- the second host -------------------------------------------------------------------
if [ "$SECOND" -eq 1 ]; then
  SOCKDIR=/run/pvmatrix-host2
  BASE=/var/lib/pvmatrix-host2
  PIDFILE="$SOCKDIR/libvirtd.pid"
  URI="qemu+unix:///system?socket=$SOCKDIR/libvirt-sock"

  if [ "$STOP" -eq 1 ]; then
    if alive "$PIDFILE"; then
      pid="$(cat "$PIDFILE")"
      # The daemon kills its QEMUs on the way out only for autodestroy domains; destroy all.
      for d in $(timeout 10 virsh -q -c "$URI" list --name 2>/dev/null); do
        timeout 20 virsh -q -c "$URI" destroy "$d" >/dev/null 2>&1 || true
      done
      kill "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$PIDFILE"
    echo "libvirt-up: second host stopped"
    exit 0
  fi

  if alive "$PIDFILE" && timeout 10 virsh -q -c "$URI" uri >/dev/null 2>&1; then
    echo "$URI"
    exit 0
  fi
  mkdir -p "$SOCKDIR" "$BASE"/{run,lib,log,cache}
  # Private configuration: its own socket directory; QEMU's stdio goes to files (no virtlogd
  # needed in the namespace); no networks autostart.
  rm -rf "$BASE/etc" && cp -a /etc/libvirt "$BASE/etc"
  rm -f "$BASE"/etc/qemu/networks/autostart/*.xml
  cat >>"$BASE/etc/libvirtd.conf" <<EOF

# pvmatrix second host (scripts/libvirt-up.sh --second)
unix_sock_dir = "$SOCKDIR"
EOF
  cat >>"$BASE/etc/qemu.conf" <<EOF

# pvmatrix second host (scripts/libvirt-up.sh --second)
stdio_handler = "file"
EOF
  rm -f "$SOCKDIR"/libvirt-sock* "$SOCKDIR"/libvirt-admin-sock
  unshare --mount --net --propagation private -- /bin/sh -ec "
    mount --bind '$BASE/etc' /etc/libvirt
    mount --bind '$BASE/run' /run/libvirt
    mount --bind '$BASE/lib' /var/lib/libvirt
    mount --bind '$BASE/log' /var/log/libvirt
    mount --bind '$BASE/cache' /var/cache/libvirt
    ip link set lo up 2>/dev/null || true
    exec libvirtd -d -p '$PIDFILE'
  "
  wait_uri "$URI"
  echo "$URI"
  exit 0
fi

# ---- the system daemon -----------------------------------------------------------------
if [ "$STOP" -eq 1 ]; then
  echo "libvirt-up: --stop is for --second; the system daemon is left running" >&2
  exit 2
fi
URI="qemu:///system"
# Without udev, /dev/kvm keeps the image's root-only mode: libvirt then probes QEMU's
# capabilities as root (KVM usable) but checks its cache as libvirt-qemu (KVM not usable),
# finds the cache stale ("KVM was enabled when probing ... but it is not available now") and
# probes again before every domain: ~45 s per boot instead of ~0.7 s. Give /dev/kvm the owner
# and mode Debian's udev rule would (root:kvm 0660); domains stay TCG (type='qemu') anyway.
if [ -c /dev/kvm ] && getent group kvm >/dev/null && [ "$(stat -c %G:%a /dev/kvm)" != "kvm:660" ]; then
  chgrp kvm /dev/kvm && chmod 660 /dev/kvm || echo "libvirt-up: cannot set /dev/kvm to root:kvm 0660" >&2
fi
if ! alive /run/virtlogd.pid || [ ! -S /run/libvirt/virtlogd-sock ]; then
  rm -f /run/virtlogd.pid
  virtlogd -d
fi
if ! timeout 10 virsh -q -c "$URI" uri >/dev/null 2>&1; then
  if ! alive /run/libvirtd.pid; then
    rm -f /run/libvirtd.pid
    libvirtd -d
  fi
  wait_uri "$URI"
fi
echo "$URI"
