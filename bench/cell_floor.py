#!/usr/bin/python3
"""One `pvmatrix cell` against bare QEMU with the identical argv, and what process start-up costs.

    /usr/bin/python3 bench/cell_floor.py [--build build] [--rounds 20] [--kernel 2.6.25] [--hv rom-1.13]

1. cell vs floor: `pvmatrix cell --kernel K --hv V --json` and the QEMU argv it reports
   (`qemu_cmdline`) run bare, interleaved (cell, bare, cell, bare, ...), so both see the same
   host load; medians of wall time and of CPU (the process and its children, from wait4()).
2. as before: the same cell with libvirt preloaded (LD_PRELOAD=libvirt.so.0), which is what every
   command paid when the CLI was linked against libvirt; in the same interleaving.
3. start-up: `pvmatrix list --help` (no world, no boot) against an empty C program, CPU medians.
The ratios are the figures; milliseconds depend on the host's load. Nothing here is asserted.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LIBVIRT = "/usr/lib/x86_64-linux-gnu/libvirt.so.0"


def timed(argv, env=None):
    """(wall ms, CPU ms of the process and its children, exit status)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            env=env)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - t0) * 1000
    return wall, (ru.ru_utime + ru.ru_stime) * 1000, os.waitstatus_to_exitcode(status)


def empty_program(tmp):
    src, exe = Path(tmp) / "empty.c", Path(tmp) / "empty"
    src.write_text("int main(void) { return 0; }\n")
    subprocess.run(["cc", "-O2", "-o", str(exe), str(src)], check=True)
    return str(exe)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--kernel", default="2.6.25")
    ap.add_argument("--hv", default="rom-1.13")
    a = ap.parse_args()
    pvmatrix = str(Path(a.build) / "pvmatrix")
    cell = [pvmatrix, "cell", "--images", str(Path(a.build) / "images"), "--kernel", a.kernel, "--hv", a.hv, "--json"]
    out = subprocess.run(cell, capture_output=True, text=True, check=True).stdout
    bare = json.loads(out)["qemu_cmdline"]
    env_before = {**os.environ, "LD_PRELOAD": LIBVIRT} if os.path.exists(LIBVIRT) else None

    rows = {"cell": [], "bare": [], "cell_as_before": []}
    for _ in range(a.rounds):
        rows["cell"].append(timed(cell))
        rows["bare"].append(timed(bare))
        if env_before:
            rows["cell_as_before"].append(timed(cell, env_before))
    with tempfile.TemporaryDirectory() as tmp:
        empty = empty_program(tmp)
        start = {"pvmatrix list --help": [], "empty C program": []}
        for _ in range(a.rounds):
            start["pvmatrix list --help"].append(timed([pvmatrix, "list", "--help"]))
            start["empty C program"].append(timed([empty]))

    def med(samples, i):
        return statistics.median(s[i] for s in samples)

    result = {"rounds": a.rounds, "cell": f"{a.kernel} on {a.hv}", "load": os.getloadavg()[0]}
    print(f"{a.rounds} rounds, interleaved, medians (load {result['load']:.1f}):")
    for name, samples in rows.items():
        if not samples:
            continue
        # Bare QEMU exits with isa-debug-exit's status ((code << 1) | 1): only pvmatrix's counts.
        bad = [s for s in samples if s[2] != 0] if name != "bare" else []
        result[name] = {"wall_ms": med(samples, 0), "cpu_ms": med(samples, 1), "failures": len(bad)}
        print(f"  {name:16s} wall {med(samples, 0):7.1f} ms   cpu {med(samples, 1):7.1f} ms"
              + (f"   ({len(bad)} non-zero exits)" if bad else ""))
    b = result["bare"]
    for name in ("cell", "cell_as_before"):
        if name in result:
            r = result[name]
            print(f"  {name} / bare: wall {r['wall_ms'] / b['wall_ms']:.2f}x, cpu {r['cpu_ms'] / b['cpu_ms']:.2f}x")
    for name, samples in start.items():
        result[name] = {"cpu_ms": med(samples, 1), "wall_ms": med(samples, 0)}
        print(f"  start-up: {name:22s} cpu {med(samples, 1):6.1f} ms   wall {med(samples, 0):6.1f} ms")
    json.dump(result, sys.stderr, indent=1)
    print(file=sys.stderr)


if __name__ == "__main__":
    main()
