#!/usr/bin/python3
"""A real kernel's cell against the same QEMU argv booting the same kernel with a trivial init
that powers off at once (build/images/linux-poweroff-<arch>.cpio), measured in the same run
(issue 14). What the guest agent, its probes and the harness add to Linux's (and Xen's) own boot.

Per cell, `--rounds` interleaved pairs (cell, floor, cell, floor, ...) after one warm-up of each:

  cell   `pvmatrix cell --kernel K --hv H [--dom0 M] --json`: the process's wall time, and the CPU
         time QEMU used (getrusage of the children: less sensitive to host load than wall time)
  floor  the cell's own qemu_cmdline with the agent initramfs swapped for the power-off one: from
         exec to QEMU's exit (bare: ACPI power-off; Xen: dom0's power-off, Xen enters S5)

With `--matrix`, also the real kernels' part of the nightly (`run --only 'kernel=linux-*' -j2`)
against the floor argv of every cell it booted, run two at a time: the matrix's wall time
against its floor. Speed is measured here, never asserted in a timed test.

Usage: bench/real_floor.py [--build DIR] [--rounds N] [--kernel linux-6.1] [--hv xen-4.17.7]
                           [--matrix] [--json FILE]
"""
import argparse
import concurrent.futures
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from floor import bare_boot  # noqa: E402


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def floor_argv(argv):
    """The cell's argv with linux-agent-<arch>.cpio replaced by linux-poweroff-<arch>.cpio."""
    out = list(argv)
    i = out.index("-initrd") + 1
    if "linux-agent-" not in out[i]:
        raise ValueError("not a real kernel's argv: " + out[i])
    out[i] = out[i].replace("linux-agent-", "linux-poweroff-")
    return out


def cell(cli, images, kernel, hv, dom0):
    args = [str(cli), "cell", "--images", str(images), "--kernel", kernel, "--hv", hv, "--json", "--timeout", "600"]
    if dom0:
        args += ["--dom0", dom0]
    cpu0, t0 = children_cpu(), time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    wall, cpu = time.monotonic() - t0, children_cpu() - cpu0
    c = json.loads(proc.stdout)
    if c["status"] not in ("PASS", "XFAIL"):
        sys.exit(f"{kernel} on {hv} ({dom0 or 'default'}) is {c['status']}: {c['reason']}")
    return wall, cpu, c["qemu_cmdline"]


def floor(argv):
    cpu0 = children_cpu()
    wall = bare_boot(argv, timeout=900)
    return wall, children_cpu() - cpu0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--kernel", default="linux-6.1")
    ap.add_argument("--hv", default="xen-4.17.7")
    ap.add_argument("--matrix", action="store_true", help="also the real part of the nightly at -j2")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    build = Path(args.build)
    cli, images = build / "pvmatrix", build / "images"
    med = statistics.median
    figures = {"kernel": args.kernel, "rounds": args.rounds, "cells": {}}
    for hv, dom0 in (("qemu", None), (args.hv, None), (args.hv, "pv")):
        name = f"{hv}/{dom0 or 'default'}"
        _, _, argv = cell(cli, images, args.kernel, hv, dom0)  # warm-up, and the argv
        bare = floor_argv(argv)
        floor(bare)
        cw, cc, fw, fc = [], [], [], []
        for _ in range(args.rounds):
            w, c, _ = cell(cli, images, args.kernel, hv, dom0)
            cw.append(w)
            cc.append(c)
            w, c = floor(bare)
            fw.append(w)
            fc.append(c)
        figures["cells"][name] = {
            "cell_wall_s": round(med(cw), 2), "floor_wall_s": round(med(fw), 2),
            "wall_ratio": round(med(cw) / med(fw), 3),
            "cell_qemu_cpu_s": round(med(cc), 2), "floor_qemu_cpu_s": round(med(fc), 2),
            "cpu_ratio": round(med(cc) / med(fc), 3),
        }
        print(name, figures["cells"][name], flush=True)
    if args.matrix:
        with tempfile.TemporaryDirectory() as out:
            t0 = time.monotonic()
            subprocess.run([str(cli), "run", str(REPO / "matrix" / "nightly.json"), "--only", "kernel=linux-*",
                            "--out", out, "--images", str(images), "-j", "2", "--retries", "0"],
                           capture_output=True, timeout=7200, stdin=subprocess.DEVNULL)
            run_wall = time.monotonic() - t0
            report = json.loads((Path(out) / "report.json").read_text())
        argvs = [floor_argv(c["qemu_cmdline"]) for c in report["cells"]
                 if c["outcome"] not in ("SKIP", "ERROR") and c.get("qemu_cmdline")]
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda a: bare_boot(a, timeout=900), argvs))
        floor_wall = time.monotonic() - t0
        figures["matrix"] = {"cells": len(report["cells"]), "booted": len(argvs), "run_wall_s": round(run_wall, 1),
                             "floor_wall_s": round(floor_wall, 1), "ratio": round(run_wall / floor_wall, 3)}
        print("matrix", figures["matrix"], flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
