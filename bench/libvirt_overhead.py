#!/usr/bin/python3
"""libvirt's overhead per cell against the direct QEMU backend, measured in the same run.

Boots the same cells through both backends, interleaved (qemu, libvirt, qemu, libvirt, ...)
so host load affects both alike, after one warm-up boot per backend that is not counted (the
daemon's start-up and its first QEMU capability probe are excluded). Two figures per backend:

  boot   the cell's duration_ms: what the launcher measured from start to answer (libvirt:
         domain XML -> create -> resume -> serial `done` -> a 0.2 s quiet grace)
  wall   the whole `pvmatrix cell` process (libvirt adds the connection and, at exit, waiting
         for its domain to be torn down, which this host's slow zombie reaping makes ~1-2 s)

and a matrix figure: `pvmatrix run matrix/smoke.json -j1` on each backend, wall time per cell.

Usage: bench/libvirt_overhead.py [--build DIR] [--rounds N] [--uri URI] [--json]
Needs a running libvirtd (scripts/libvirt-up.sh) and the built images.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CELLS = [("2.6.24", "rom-1.12", ""), ("2.6.25", "rom-1.12", ""), ("2.6.25", "rom-1.13", "")]


def boot(cli, images, kernel, hv, cmdline, backend, uri):
    args = [str(cli), "cell", "--images", str(images), "--kernel", kernel, "--hv", hv, "--json",
            "--backend", backend]
    if cmdline:
        args += ["--cmdline", cmdline]
    if backend == "libvirt":
        args += ["--connect", uri]
    t0 = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    wall_ms = (time.monotonic() - t0) * 1000
    cell = json.loads(proc.stdout)
    return cell["status"], cell["duration_ms"], wall_ms


def run_matrix(cli, images, backend, uri):
    with tempfile.TemporaryDirectory() as out:
        args = [str(cli), "run", str(REPO / "matrix/smoke.json"), "--images", str(images), "--out", out,
                "-j", "1", "--backend", backend]
        if backend == "libvirt":
            args += ["--connect", uri]
        t0 = time.monotonic()
        subprocess.run(args, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        wall_ms = (time.monotonic() - t0) * 1000
        cells = json.loads((Path(out) / "report.json").read_text())["cells"]
        return wall_ms / max(1, len(cells)), statistics.median(c["duration_ms"] for c in cells), len(cells)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--uri", default="qemu:///system")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    cli, images = Path(a.build) / "pvmatrix", Path(a.build) / "images"

    for backend in ("qemu", "libvirt"):  # warm-up, not counted
        boot(cli, images, *CELLS[0], backend, a.uri)
    samples = {"qemu": {"boot": [], "wall": []}, "libvirt": {"boot": [], "wall": []}}
    for _ in range(a.rounds):
        for c in CELLS:
            for backend in ("qemu", "libvirt"):
                status, boot_ms, wall_ms = boot(cli, images, *c, backend, a.uri)
                samples[backend]["boot"].append(boot_ms)
                samples[backend]["wall"].append(wall_ms)
    matrix = {b: run_matrix(cli, images, b, a.uri) for b in ("qemu", "libvirt")}

    med = {b: {k: statistics.median(v) for k, v in s.items()} for b, s in samples.items()}
    result = {
        "cells": len(CELLS) * a.rounds,
        "median_ms": med,
        "overhead_ms": {k: med["libvirt"][k] - med["qemu"][k] for k in ("boot", "wall")},
        "smoke_run_j1": {b: {"wall_ms_per_cell": m[0], "median_boot_ms": m[1], "cells": m[2]}
                         for b, m in matrix.items()},
    }
    if a.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    print(f"{result['cells']} boots per backend, interleaved, medians (ms):")
    print(f"{'':10}{'boot':>10}{'wall':>10}")
    for b in ("qemu", "libvirt"):
        print(f"{b:10}{med[b]['boot']:10.0f}{med[b]['wall']:10.0f}")
    print(f"{'overhead':10}{result['overhead_ms']['boot']:10.0f}{result['overhead_ms']['wall']:10.0f}")
    for b, m in result["smoke_run_j1"].items():
        print(f"smoke -j1 {b:8} {m['wall_ms_per_cell']:6.0f} ms wall per cell, "
              f"median boot {m['median_boot_ms']:.0f} ms ({m['cells']} cells)")


if __name__ == "__main__":
    main()
