#!/usr/bin/env python3
"""The history store's cost (issue 17): recording a run, answering `pvmatrix history`, its size.

1. Recording a 2,010-cell run: `pvmatrix run` of the synthetic 2,010-cell matrix of
   bench/matrix_floor.py with `--from-cells` (no boots: the harness's own work only), with
   `--history none` and with an SQLite store that already holds --prior runs of it; the
   difference in the process's CPU time (user + sys, best of --rounds) per cell, against the
   harness's own CPU per cell when it really boots those 2,010 cells, measured in the same
   bench run (report meta.rusage.self_cpu_ms / cells, `--history none`; QEMU's CPU is not the
   harness's). --harness-cpu-ms N skips the real run and divides by N instead.
2. A year of nightlies: 365 runs of a 150-cell matrix (5 kernels x 6 versions x 5 configs, 10%
   failing with a reason and a probe detail) imported into a fresh store; then the wall time of
   `pvmatrix history`, `pvmatrix history PATTERN` and `pvmatrix history --html` (median of 5),
   and the store's size on disk.

  /usr/bin/python3 bench/history_bench.py [--build build] [--prior 30] [--rounds 3] [--json out.json]
                                          [--year-store postgresql://...]   (an empty database)
"""
import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from matrix_floor import synthetic_matrix  # noqa: E402

KERNELS = ["2.6.20", "2.6.21", "2.6.22", "2.6.24", "2.6.25"]
HVS = ["rom-1.0", "rom-1.1", "rom-1.12", "rom-1.13", "rom-1.13.1", "rom-2.0"]
CONFIGS = ["default", "native-timer", "native-mmu", "native-all", "small-mem"]
REASON = ("probe time.oneshot failed: SetAlarm(68) refused a one-shot alarm (-38): the ROM offers periodic alarms "
          "only; no periodic fallback in this release (call 68)")


def run_child(argv, env):
    """(wall seconds, returncode, stderr) of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    _, err = p.communicate()
    wall = time.perf_counter() - t0
    return wall, p.returncode, err


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(argv, env):
    """(user+sys CPU seconds, wall seconds) of one child: RUSAGE_CHILDREN grows by exactly its usage."""
    before = child_cpu()
    wall, rc, err = run_child(argv, env)
    if rc not in (0, 1):
        sys.exit(f"{' '.join(map(str, argv))}: exit {rc}: {err}")
    return child_cpu() - before, wall


def year_report(i, rng, t0_ms):
    cells = []
    for k in KERNELS:
        for hv in HVS:
            for cfg in CONFIGS:
                failing = rng.random() < 0.10
                cells.append({
                    "id": f"kernel={k}/hv={hv}/cfg={cfg}", "kernel": k, "hv": hv, "config": cfg,
                    "status": "FAIL" if failing else "PASS", "stage": "timer" if failing else "shutdown",
                    "binding": {"cpu": "rom", "irq": "rom", "mmu": "rom", "timer": "native" if failing else "rom", "lazy": "rom"},
                    "probes": [{"id": "time.oneshot", "status": "fail" if failing else "pass",
                                "detail": "SetAlarm refused one-shot (-38)" if failing else ""}],
                    "reason": REASON if failing else "", "expected_reason": "", "duration_ms": 150 + i % 7,
                    "attempts": [{"status": "FAIL" if failing else "PASS"}],
                })
    return {"schema": "pvmatrix-report", "schema_version": 1, "complete": True,
            "axes": {"kernels": KERNELS, "hypervisors": HVS, "configs": [{"name": c, "cmdline": ""} for c in CONFIGS]},
            "meta": {"host": "bench", "matrix": {"name": "nightly", "sha256": "0" * 64},
                     "git": {"revision": f"{i:040x}", "dirty": False},
                     "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0_ms / 1000 + i * 86400)),
                     "started_at_ms": t0_ms + i * 86400000, "ended_at": None},
            "summary": {"total": len(cells), "unexpected": 0}, "cells": cells}


def median_wall(argv, env, n=5):
    walls = []
    for _ in range(n):
        t0 = time.perf_counter()
        p = subprocess.run(argv, capture_output=True, text=True, env=env)
        walls.append(time.perf_counter() - t0)
        if p.returncode != 0:
            sys.exit(f"{' '.join(map(str, argv))}: exit {p.returncode}: {p.stderr}")
    return statistics.median(walls)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--prior", type=int, default=30, help="runs already in the store before the measured one")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--harness-cpu-ms", type=float, help="harness CPU per cell of a real run (default: measure it: "
                                                            "the 2,010 cells booted, a few minutes)")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--year-store", help="the year's store: a postgresql:// URI of an EMPTY database "
                                         "(default: a fresh SQLite file)")
    args = ap.parse_args()
    cli = Path(args.build) / "pvmatrix"
    env = {k: v for k, v in os.environ.items() if k != "PVMATRIX_HISTORY"}
    env["CI"] = "true"
    work = Path(tempfile.mkdtemp(prefix="pvm-history-bench-"))
    figures = {}

    # 1. Recording a 2,010-cell run.
    syn = work / "synthetic.json"
    n = synthetic_matrix(syn)
    measure([cli, "run", syn, "--dry-run", "--out", work / "dry"], env)
    rng = random.Random(17)
    cells = json.loads((work / "dry/report.json").read_text())["cells"]
    lines = []
    for c in cells:  # a plausible mix: most pass, some fail with a reason and a probe
        failing = rng.random() < 0.1
        c.update(status="FAIL" if failing else "PASS", outcome="FAIL" if failing else "PASS", stage="timer" if failing else "shutdown",
                 reason=REASON if failing else "",
                 binding={"cpu": "rom", "irq": "rom", "mmu": "rom", "timer": "rom", "lazy": "rom"},
                 probes=[{"id": "time.oneshot", "status": "fail" if failing else "pass", "detail": "refused (-38)" if failing else ""}])
        lines.append(json.dumps(c))
    jsonl = work / "cells.jsonl"
    jsonl.write_text("\n".join(lines) + "\n")
    store = work / "syn.sqlite"
    for i in range(args.prior):
        measure([cli, "run", syn, "--from-cells", jsonl, "--out", work / "prior", "--history", store], env)
    without, with_history = [], []
    for r in range(args.rounds):
        without.append(measure([cli, "run", syn, "--from-cells", jsonl, "--out", work / "a", "--history", "none"], env)[0])
        with_history.append(measure([cli, "run", syn, "--from-cells", jsonl, "--out", work / "b", "--history", store], env)[0])
    added_ms = (min(with_history) - min(without)) * 1000 / n
    harness_ms = args.harness_cpu_ms
    if harness_ms is None:
        t0 = time.perf_counter()
        measure([cli, "run", syn, "--out", work / "real", "--history", "none"], env)
        real = json.loads((work / "real/report.json").read_text())
        harness_ms = real["meta"]["rusage"]["self_cpu_ms"] / len(real["cells"])
        figures["real_run_wall_s"] = round(time.perf_counter() - t0, 1)
        figures["real_run_harness_cpu_ms_per_cell"] = round(harness_ms, 3)
    figures.update({
        "record_cells": n,
        "record_prior_runs": args.prior,
        "run_cpu_ms_without_history": round(min(without) * 1000, 1),
        "run_cpu_ms_with_history": round(min(with_history) * 1000, 1),
        "history_cpu_ms_per_cell": round(added_ms, 4),
        "history_share_of_harness_cpu_per_cell": f"{added_ms / harness_ms * 100:.1f}% of {harness_ms:.2f} ms",
    })

    # 2. A year of nightlies: 365 runs x 150 cells.
    rng = random.Random(365)
    t0_ms = 1767225600000  # 2026-01-01
    files = []
    for i in range(365):
        f = work / "year" / f"{i:03d}.json"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(year_report(i, rng, t0_ms)))
        files.append(f)
    year = args.year_store or work / "year.sqlite"
    t0 = time.perf_counter()
    p = subprocess.run([cli, "history", "import", *files, "--history", year], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"import: {p.stderr}")
    figures["year_import_s"] = round(time.perf_counter() - t0, 2)
    figures["year_history_list_ms"] = round(median_wall([cli, "history", "--history", year], env) * 1000, 1)
    figures["year_history_cell_ms"] = round(
        median_wall([cli, "history", "kernel=2.6.25/hv=rom-1.12/cfg=default", "--history", year], env) * 1000, 1)
    figures["year_history_html_ms"] = round(
        median_wall([cli, "history", "--html", work / "h.html", "--history", year], env) * 1000, 1)
    if args.year_store is None:
        figures["year_store_mib"] = round(sum(f.stat().st_size for f in work.glob("year.sqlite*")) / 2**20, 2)

    width = max(map(len, figures))
    for k, v in figures.items():
        print(f"{k:<{width}}  {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    if os.environ.get("PVMATRIX_BENCH_KEEP"):
        print(f"kept: {work}")
    else:
        subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()
