#!/usr/bin/python3
"""Runs a matrix (default matrix/smoke.json) N times in a row (default 100) with `pvmatrix run`
and reports every cell whose status, outcome, stage, binding or probes (id, status, detail)
differ between runs. Exit 0: every run gave the same cells; 1: some differ; 2: a run failed
to produce a report.

Usage: bench/determinism.py [-n N] [--matrix FILE] [--build DIR] [-j JOBS] [--keep DIR]
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


# Probe details that report the host's real time by design (QEMU's RTC follows the host clock):
# their numbers are masked unless --strict.
REAL_TIME_PROBES = {"time.wallclock"}


def fingerprint(cell, strict):
    """What must not change between runs of the same cell (timing and paths may)."""
    def detail(p):
        d = p.get("detail")
        if not strict and p["id"] in REAL_TIME_PROBES and d:
            d = re.sub(r"\d+", "N", d)
        return d
    return json.dumps({
        "status": cell["status"], "outcome": cell["outcome"], "stage": cell.get("stage"),
        "binding": cell.get("binding"), "hv_refused": cell.get("hv_refused"),
        "probes": [(p["id"], p["status"], detail(p), p.get("call")) for p in cell.get("probes", [])],
        "attempts": len(cell.get("attempts", [])),
    }, sort_keys=True)


def differences(a, b):
    """The fields (and probes) in which two fingerprints differ, for the report."""
    a, b = json.loads(a), json.loads(b)
    out = [f"{k}: {a[k]} vs {b[k]}" for k in a if k != "probes" and a[k] != b[k]]
    pa, pb = {p[0]: p for p in a["probes"]}, {p[0]: p for p in b["probes"]}
    for pid in sorted(set(pa) | set(pb)):
        if pa.get(pid) != pb.get(pid):
            out.append(f"probe {pid}: {pa.get(pid)} vs {pb.get(pid)}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=100, help="runs (default 100)")
    ap.add_argument("--matrix", default=str(REPO / "matrix" / "smoke.json"))
    ap.add_argument("--build", default=os.environ.get("PVMATRIX_BUILD", str(REPO / "build")))
    ap.add_argument("-j", "--jobs", type=int, default=0, help="pvmatrix run -j (default: its own)")
    ap.add_argument("--keep", help="keep every run's output under this directory")
    ap.add_argument("--strict", action="store_true",
                    help="compare real-time probe details (time.wallclock) too; they differ by design")
    a = ap.parse_args()

    cli = Path(a.build) / "pvmatrix"
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="pvmatrix-determinism-"))
    seen = collections.defaultdict(collections.Counter)  # cell id -> fingerprint -> runs
    example = {}                                         # (id, fingerprint) -> first run index
    started = time.monotonic()
    for i in range(a.n):
        out = work / f"run-{i:03d}"
        cmd = [str(cli), "run", a.matrix, "--images", str(Path(a.build) / "images"), "--out", str(out)]
        if a.jobs:
            cmd += ["-j", str(a.jobs)]
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        report = out / "report.json"
        if proc.returncode not in (0, 1) or not report.exists():
            print(f"run {i}: pvmatrix exited {proc.returncode}\n{proc.stderr}", file=sys.stderr)
            return 2
        for cell in json.loads(report.read_text())["cells"]:
            fp = fingerprint(cell, a.strict)
            seen[cell["id"]][fp] += 1
            example.setdefault((cell["id"], fp), i)
        if not a.keep:
            subprocess.run(["rm", "-rf", str(out)])
        print(f"\rrun {i + 1}/{a.n} ({time.monotonic() - started:.0f} s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    elapsed = time.monotonic() - started
    unstable = {cid: fps for cid, fps in seen.items() if len(fps) > 1}
    print(f"{a.n} runs of {Path(a.matrix).name}, {len(seen)} cells, {elapsed:.0f} s "
          f"({elapsed / max(a.n, 1):.1f} s per run): "
          + ("every cell identical in every run" if not unstable else f"{len(unstable)} cell(s) differ"))
    if not a.strict:
        print(f"(numbers in {', '.join(sorted(REAL_TIME_PROBES))} details masked: they read the host's clock)")
    for cid, fps in sorted(unstable.items()):
        common, n_common = fps.most_common(1)[0]
        print(f"  {cid}: {len(fps)} variants; the most common in {n_common} runs (first: run {example[(cid, common)]})")
        for fp, n in fps.most_common()[1:]:
            print(f"    {n} run(s) (first: run {example[(cid, fp)]}) differ: " + "; ".join(differences(common, fp)))
    if not a.keep:
        os.rmdir(work)
    return 1 if unstable else 0


if __name__ == "__main__":
    sys.exit(main())
