#!/usr/bin/python3
"""A xen cell against a bare Xen boot of a trivial PVH guest, measured in the same run (issue 10).

For each xen version, `--rounds` interleaved pairs (cell, bare, cell, bare, ...) so host load
affects both alike, after one warm-up of each that is not counted:

  cell   `pvmatrix cell --kernel K --hv xen-X --json`: the whole process (wall) and the
         launcher's duration_ms (QEMU start to the kernel's `done`)
  bare   the identical QEMU argv (the cell's qemu_cmdline: same Xen, its command line,
         machine, icount) with the dom0 module swapped for build/images/fixture-xen-pass.elf,
         a PVH guest that prints `done` and powers off at once: from exec to its `done` line

The ratio cell/bare is what the reference kernel, its probes and the harness add to Xen's own
boot. Speed is measured here, never asserted in a timed test.

Usage: bench/xen_floor.py [--build DIR] [--rounds N] [--kernel K] [--json FILE]
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from floor import bare_argv, bare_boot  # noqa: E402


def cell(cli, images, kernel, hv):
    t0 = time.monotonic()
    proc = subprocess.run([str(cli), "cell", "--images", str(images), "--kernel", kernel, "--hv", hv, "--json"],
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    c = json.loads(proc.stdout)
    if c["status"] != "PASS":
        sys.exit(f"{kernel} on {hv} is {c['status']}: {c['reason']}")
    return wall, c["duration_ms"] / 1000.0, c["qemu_cmdline"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--kernel", default="2.6.25")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    build = Path(args.build)
    cli, images = build / "pvmatrix", build / "images"
    pvh = images / "fixture-xen-pass.elf"
    for need in (cli, pvh):
        if not need.exists():
            sys.exit(f"{need} is missing: build first (cmake --build {build})")
    hvs = sorted(p.name for p in (REPO / "hypervisor-versions").glob("xen-*") if (p / "version.json").exists())
    figures = {"kernel": args.kernel, "rounds": args.rounds, "versions": {}}
    for hv in hvs:
        _, _, argv = cell(cli, images, args.kernel, hv)  # warm-up, and the argv
        bare = bare_argv(argv, None, pvh)
        bare_boot(bare)
        walls, durations, bares = [], [], []
        for _ in range(args.rounds):
            w, d, _ = cell(cli, images, args.kernel, hv)
            walls.append(w)
            durations.append(d)
            bares.append(bare_boot(bare))
        med = statistics.median
        figures["versions"][hv] = {
            "bare_s": round(med(bares), 2),
            "cell_boot_s": round(med(durations), 2),
            "cell_wall_s": round(med(walls), 2),
            "boot_over_bare": round(med(durations) / med(bares), 2),
            "wall_over_bare": round(med(walls) / med(bares), 2),
        }
        print(hv, figures["versions"][hv], flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
