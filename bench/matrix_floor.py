#!/usr/bin/python3
"""The nightly matrix against its floor, harness CPU per cell, and memory for 2,000 cells.

    /usr/bin/python3 bench/matrix_floor.py [--build build] [-j N] [--matrix matrix/nightly.json]

1. floor: as many bare QEMU boots as the matrix has cells, of a trivial multiboot kernel
   (build/images/fixture-pass.elf, tests/fixtures/), each with the argv the harness used for
   that cell (same machine type, CPU, memory, devices, ROM) but that kernel, at the same -j; a
   xen cell's floor is the same Xen booting the trivial PVH guest (fixture-xen-pass.elf).
   Measured before and after the run; the floor is their mean.
2. run: `pvmatrix run MATRIX -j N`; wall time, and the harness's own CPU against QEMU's
   (getrusage self vs children, recorded by pvmatrix in report.json meta.rusage).
3. memory: a synthetic 2,010-cell matrix (5 kernels x 6 versions x 67 configs) through
   `pvmatrix list` and `pvmatrix run --dry-run` (scheduler + every report, no boots); peak
   RSS from wait4().
Targets (issue 3): run <= 1.2x floor; harness CPU <= 2 ms per cell; < 64 MiB for 2,000 cells.
Speed is measured here, never asserted in a timed test.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from floor import bare_argv, bare_boot  # noqa: E402


def timed(argv, env=None):
    """(wall seconds, rusage, returncode) of one process, its children included in rusage."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    return wall, usage, proc.returncode, err


def floor(argvs, jobs):
    """Wall seconds to boot every argv bare, `jobs` at a time."""
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(bare_boot, argvs))
    return time.monotonic() - start


def synthetic_matrix(path):
    configs = [{"name": "default", "cmdline": ""}]
    groups = ["cpu", "irq", "mmu", "timer", "lazy"]
    for i in range(66):
        chosen = [g for b, g in enumerate(groups) if (i + 1) >> b & 1] or ["all"]
        configs.append({"name": f"syn-{i:02d}", "cmdline": "pv.native=" + ",".join(chosen) + f" syn={i}"})
    path.write_text(json.dumps({"name": "synthetic-2010", "kernels": ["2.6.*"], "hypervisors": ["rom-*"],
                                "configs": configs, "known_issues": [str(REPO / "matrix/known-issues.json")]}))
    return 5 * 6 * len(configs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--matrix", default=str(REPO / "matrix/nightly.json"))
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    build = Path(args.build)
    cli = build / "pvmatrix"
    trivial = build / "images/fixture-pass.elf"
    trivial_pvh = build / "images/fixture-xen-pass.elf"  # the floor of a xen cell
    for need in (cli, trivial, trivial_pvh):
        if not need.exists():
            sys.exit(f"{need} is missing: build first (cmake --build {build})")
    env = {**os.environ, "CI": "true"}
    work = Path(tempfile.mkdtemp(prefix="pvm-bench-"))
    try:
        # A first real run gives each cell's QEMU argv (qemu_cmdline) and warms the caches.
        out = work / "run"
        wall0, _, rc0, err0 = timed([str(cli), "run", args.matrix, "-j", str(args.jobs), "--out", str(work / "warm")],
                                    env)
        if rc0 not in (0, 1):
            sys.exit(f"pvmatrix run failed ({rc0}): {err0}")
        warm = json.loads((work / "warm/report.json").read_text())
        argvs = [bare_argv(c["qemu_cmdline"], trivial, trivial_pvh) for c in warm["cells"] if c["qemu_cmdline"]]
        floor_before = floor(argvs, args.jobs)
        wall, usage, rc, err = timed([str(cli), "run", args.matrix, "-j", str(args.jobs), "--out", str(out)], env)
        if rc not in (0, 1):
            sys.exit(f"pvmatrix run failed ({rc}): {err}")
        floor_after = floor(argvs, args.jobs)
        report = json.loads((out / "report.json").read_text())
        cells = len(report["cells"])
        ru = report["meta"]["rusage"]
        floor_s = (floor_before + floor_after) / 2

        # Memory for 2,010 cells, no boots.
        syn = work / "synthetic.json"
        n_syn = synthetic_matrix(syn)
        _, list_usage, list_rc, list_err = timed([str(cli), "list", str(syn), "--json"], env)
        _, dry_usage, dry_rc, dry_err = timed(
            [str(cli), "run", str(syn), "--dry-run", "-j", str(args.jobs), "--out", str(work / "dry")], env)
        if list_rc != 0 or dry_rc != 0:
            sys.exit(f"synthetic matrix failed: list {list_rc} {list_err} / run {dry_rc} {dry_err}")

        figures = {
            "jobs": args.jobs,
            "cells": cells,
            "statuses": {k: v for k, v in report["summary"]["by_status"].items() if v},
            "run_wall_s": round(wall, 2),
            "warmup_run_wall_s": round(wall0, 2),
            "floor_wall_s": round(floor_s, 2),
            "floor_before_s": round(floor_before, 2),
            "floor_after_s": round(floor_after, 2),
            "run_over_floor": round(wall / floor_s, 2),
            "harness_cpu_ms_per_cell": round(ru["self_cpu_ms"] / cells, 2),
            "qemu_cpu_ms_per_cell": round(ru["children_cpu_ms"] / cells, 1),
            "harness_max_rss_mib_nightly": round(ru["self_max_rss_kib"] / 1024, 1),
            "synthetic_cells": n_syn,
            "list_json_max_rss_mib": round(list_usage.ru_maxrss / 1024, 1),
            "dry_run_max_rss_mib": round(dry_usage.ru_maxrss / 1024, 1),
        }
        width = max(map(len, figures))
        for k, v in figures.items():
            print(f"{k:<{width}}  {v}")
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
