#!/usr/bin/env bash
# Installs the Debian 12 packages pvmatrix needs. Idempotent: installs only what is missing,
# runs `apt-get update` only when something is. Needs root (or sudo) the first time.
set -euo pipefail

PACKAGES=(
  # build
  cmake g++ gcc-multilib g++-multilib make pkg-config
  nlohmann-json3-dev libgtest-dev libgmock-dev libcli11-dev libfmt-dev libvirt-dev libbenchmark-dev liblzma-dev libzstd-dev zlib1g-dev
  # the history store (issue 17): SQLite by default, PostgreSQL when a team shares one
  libsqlite3-dev libpqxx-dev
  # the hypervisor side
  qemu-system-x86 libvirt-daemon-system libvirt-clients
  # the pytest driver and its tests
  python3 python3-pytest python3-pytest-xdist python3-jsonschema python3-libvirt
  # the history tests' throwaway PostgreSQL cluster (tests/e2e/test_history.py: initdb + pg_ctl, no systemd)
  postgresql
  # the HTML report's browser tests
  chromium chromium-driver
  # the host-load e2e test (tests/e2e/test_host_load.py)
  stress-ng
  # fuzzing and sanitizers
  clang lld libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Real Xen and Debian's kernels are fetched after the build (scripts/fetch.sh needs
# build/pvmatrix to extract each vmlinux): scripts/nightly.sh and scripts/test.sh call it.
