#!/usr/bin/env python3
"""What a per-patch gate costs (issue 16, "Speed"): cells booted and wall time of
`pvmatrix gate --base HEAD --head X matrix/gate.json` (the default world, matrix/nightly.json)
for three changes on top of this repository's HEAD, in a throwaway clone:

  readme   a README-only change (nothing but the gate matrix, all from the cache)
  version  one hypervisor version changed (rom-1.13's guest memory): its column
  kernel   one kernel changed (2.6.24 drops its periodic timer fallback): its row

The first gate also builds both worktrees and boots the gate matrix's base cells: it is reported
apart ("warm-up"). The base side of each later change boots the world cells it has not booted
before (a nightly run with --cache would have); the head side boots what the change touched.

    /usr/bin/python3 bench/gate_cost.py [--workdir /tmp/pvmatrix-gate-cost]
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def branch(repo, name, edit):
    git(repo, "checkout", "-q", "-B", name, "base")
    edit(repo)
    git(repo, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-a", "-m", name)
    return git(repo, "rev-parse", "HEAD")


def replace(rel, old, new):
    def edit(repo):
        p = repo / rel
        text = p.read_text()
        assert old in text, (rel, old)
        p.write_text(text.replace(old, new, 1))
    return edit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default="/tmp/pvmatrix-gate-cost")
    ap.add_argument("--pvmatrix", default=str(REPO / "build/pvmatrix"))
    args = ap.parse_args()
    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    repo = work / "repo"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(repo)], check=True)
    git(repo, "branch", "base", "HEAD")
    heads = {
        "warm-up": branch(repo, "warm-up", replace("README.md", "# pvmatrix", "# pvmatrix\n")),
        "readme": branch(repo, "readme", replace("README.md", "# pvmatrix", "# pvmatrix\n\n")),
        "version": branch(repo, "version", replace("hypervisor-versions/rom-1.13/version.json", '"memory_mib": 64',
                                                   '"memory_mib": 96')),
        "kernel": branch(repo, "kernel", replace("kernel/releases/2.6.24.h", ".periodic_fallback = true",
                                                 ".periodic_fallback = false")),
    }
    git(repo, "checkout", "-q", "base")
    rows = []
    for name, head in heads.items():
        t0 = time.monotonic()
        p = subprocess.run([args.pvmatrix, "gate", "--base", "base", "--head", head, "matrix/gate.json",
                            "--out", str(work / "out" / name), "--workdir", str(work / "gatework"),
                            "--cache", str(work / "cache")], cwd=repo, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        wall = time.monotonic() - t0
        booted = dict((s, int(b)) for s, b in re.findall(r"gate: (base|head): \d+ cells, (-?\d+) booted", p.stdout))
        extra = re.findall(r"^gate: \+(\d+) cells: (.*)$", p.stdout, re.M)
        boots = json.loads((work / "out" / name / "verdicts.json").read_text())["gate"]["boots"] \
            if (work / "out" / name / "verdicts.json").exists() else {}
        row = {"change": name, "exit": p.returncode, "wall_s": round(wall, 1), "booted": booted,
               "reruns": boots.get("reruns"), "workarounds": boots.get("workarounds"),
               "affected": [f"+{n} {why}" for n, why in extra]}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if p.returncode == 2:
            print(p.stderr, file=sys.stderr)
    print("\n| change | exit | cells booted (base / head) | re-runs + workaround boots | beyond the gate matrix | wall |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['change']} | {r['exit']} | {r['booted'].get('base')} / {r['booted'].get('head')} | "
              f"{r['reruns']} + {r['workarounds']} | {', '.join(r['affected']) or '—'} | {r['wall_s']} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
