"""The per-patch gate and bisect, end to end, on a throwaway git repository.

The repository is a clone of this one at HEAD plus a series of commits:
  c0 (HEAD) -> c1 README only -> c2 2.6.24 drops the periodic timer fallback -> c3 README only
  -> c4 rom-1.13 gets more guest memory (one hypervisor column changes, nothing else).
c2 is a deliberate kernel regression: 2.6.24 on rom-1.1/rom-1.12 (periodic-only alarms) stops
passing, and pv.native=timer works around it. The gate fails at c2 and only there; a benign
commit passes with zero boots (the result cache); bisect finds c2.

Slow (it builds guest images in worktrees): only the guest_images target, one small matrix.
"""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

CELL = "kernel=2.6.24/hv=rom-1.12/cfg=default"
MATRIX = {
    "name": "gate-small",
    "kernels": ["2.6.24", "2.6.25"],
    "hypervisors": ["rom-1.1", "rom-1.12", "rom-1.13"],
    "timeout": 20,
}


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def commit(repo, message):
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-a", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gate")
    repo = tmp / "repo"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(repo)], check=True)
    c = {"c0": git(repo, "rev-parse", "HEAD")}
    readme = repo / "README.md"
    readme.write_text(readme.read_text() + "\nA harmless line.\n")
    c["c1"] = commit(repo, "README: a harmless line")
    profile = repo / "kernel/releases/2.6.24.h"
    text = profile.read_text()
    assert ".periodic_fallback = true" in text
    profile.write_text(text.replace(".periodic_fallback = true", ".periodic_fallback = false"))
    c["c2"] = commit(repo, "2.6.24: drop the periodic timer fallback")
    readme.write_text(readme.read_text() + "\nAnother harmless line.\n")
    c["c3"] = commit(repo, "README: another harmless line")
    version = repo / "hypervisor-versions/rom-1.13/version.json"
    text = version.read_text()
    assert '"memory_mib": 64' in text
    version.write_text(text.replace('"memory_mib": 64', '"memory_mib": 96'))
    c["c4"] = commit(repo, "rom-1.13: 96 MiB guests")
    matrix = tmp / "gate-small.json"
    matrix.write_text(json.dumps(MATRIX))
    return {"tmp": tmp, "repo": repo, "commits": c, "matrix": matrix, "cache": tmp / "cache", "work": tmp / "work"}


def gate(pvmatrix, world, base, head, out):
    proc = subprocess.run(
        [str(pvmatrix), "gate", "--base", base, "--head", head, str(world["matrix"]), "--out", str(world["tmp"] / out),
         "--workdir", str(world["work"]), "--cache", str(world["cache"])],
        cwd=world["repo"], capture_output=True, text=True, timeout=1800)
    return proc


def booted(stdout, side):
    m = re.search(rf"gate: {side}: (\d+) cells, (-?\d+) booted, (-?\d+) from cache", stdout)
    assert m, stdout
    return int(m.group(2))


def test_benign_commit_passes(pvmatrix, world):
    c = world["commits"]
    p = gate(pvmatrix, world, c["c0"], c["c1"], "out1")
    assert p.returncode == 0, p.stdout + p.stderr
    assert booted(p.stdout, "base") == 6
    # Same kernel and ROM bytes at c1: every head cell answered by the cache.
    assert booted(p.stdout, "head") == 0, p.stdout
    assert "No regression" in p.stdout
    verdicts = json.loads((world["tmp"] / "out1/verdicts.json").read_text())
    assert verdicts["regressions"] == 0


def test_regression_fails_the_gate_with_a_workaround(pvmatrix, world):
    c = world["commits"]
    p = gate(pvmatrix, world, c["c0"], c["c2"], "out2")
    assert p.returncode == 1, p.stdout + p.stderr
    # The base was booted by the first gate: only the head's cells boot now.
    assert booted(p.stdout, "base") == 0, p.stdout
    # Only 2.6.24's image changed: only its row boots.
    assert booted(p.stdout, "head") == 3, p.stdout
    line = next(l for l in p.stdout.splitlines() if f"REGRESSION {CELL}" in l)
    assert "was PASS, now FAIL at stage timer" in line
    assert "pv.native=timer" in line
    assert "kernel=2.6.24/hv=rom-1.13/cfg=default" not in [l for l in p.stdout.splitlines() if "REGRESSION" in l]
    report = json.loads((world["tmp"] / "out2/head/report.json").read_text())
    cell = next(x for x in report["cells"] if x["id"] == CELL)
    assert cell["verdict"] == "REGRESSION"
    assert {"mask": "pv.native=timer", "status": "PASS"} in cell["workarounds"]
    assert any(v["id"] == CELL and v["verdict"] == "REGRESSION" for v in report["verdicts"])


def test_one_hypervisor_changed_boots_only_its_column(pvmatrix, world):
    c = world["commits"]
    p = gate(pvmatrix, world, c["c3"], c["c4"], "out4")
    assert p.returncode == 0, p.stdout + p.stderr
    # c3's cells are all known (2.6.24 as at c2, 2.6.25 as at c0); at c4 only rom-1.13 differs.
    assert booted(p.stdout, "base") == 0, p.stdout
    assert booted(p.stdout, "head") == 2, p.stdout


def test_bad_revision_is_usage_error(pvmatrix, world):
    p = gate(pvmatrix, world, "no-such-rev", "HEAD", "out3")
    assert p.returncode == 2
    assert "no such revision: no-such-rev" in p.stderr


def test_bisect_finds_the_regression(pvmatrix, world):
    c = world["commits"]
    p = subprocess.run(
        [str(pvmatrix), "bisect", "--good", c["c0"], "--bad", c["c3"], "--cell", CELL, "--runs", "2",
         "--workdir", str(world["work"])],
        cwd=world["repo"], capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"first bad commit: {c['c2']} 2.6.24: drop the periodic timer fallback" in p.stdout
    # The user's repository is untouched: no bisect in progress, HEAD where it was.
    assert git(world["repo"], "rev-parse", "HEAD") == c["c4"]
    assert not (world["repo"] / ".git/BISECT_LOG").exists()


def test_bisect_ends_not_confirmed(pvmatrix, world):
    c = world["commits"]
    p = subprocess.run(
        [str(pvmatrix), "bisect", "--good", c["c0"], "--bad", c["c1"], "--cell", CELL, "--runs", "2",
         "--workdir", str(world["work"])],
        cwd=world["repo"], capture_output=True, text=True, timeout=1800)
    assert p.returncode == 4, p.stdout + p.stderr


def test_bisect_inconclusive_when_only_unbuildable_commits_are_left(pvmatrix, world, tmp_path):
    """good c0 -> B (does not build) -> C (builds again, and regresses): git can only say "B or C",
    and bisect says so with exit 3 instead of naming a commit it never tested."""
    c = world["commits"]
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(world["repo"]), str(repo)], check=True)
    git(repo, "checkout", "-q", c["c0"])
    profile = repo / "kernel/releases/2.6.24.h"
    good_text = profile.read_text()
    profile.write_text(good_text + "\n#error this commit does not build\n")
    broken = commit(repo, "2.6.24: a commit that does not build")
    profile.write_text(good_text.replace(".periodic_fallback = true", ".periodic_fallback = false"))
    regressed = commit(repo, "2.6.24: builds again, without the periodic timer fallback")
    p = subprocess.run(
        [str(pvmatrix), "bisect", "--good", c["c0"], "--bad", regressed, "--cell", CELL, "--runs", "1",
         "--workdir", str(tmp_path / "work")],
        cwd=repo, capture_output=True, text=True, timeout=1800)
    assert p.returncode == 3, p.stdout + p.stderr
    assert "inconclusive" in p.stdout, p.stdout
    assert broken in p.stdout and regressed in p.stdout, p.stdout  # both candidates are named
    assert "does not build" in p.stdout, p.stdout                   # and why the first was skipped
    assert not re.search(r"^first bad commit:", p.stdout, re.M), p.stdout  # no verdict it cannot back


def test_gate_on_a_dirty_head_gates_the_working_tree(pvmatrix, world, tmp_path):
    """--head HEAD with uncommitted changes gates what the user has (not the last commit), says
    so, and records it as dirty: the uncommitted regression is caught before it is committed."""
    c = world["commits"]
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(world["repo"]), str(repo)], check=True)
    git(repo, "checkout", "-q", c["c0"])
    profile = repo / "kernel/releases/2.6.24.h"
    profile.write_text(profile.read_text().replace(".periodic_fallback = true", ".periodic_fallback = false"))
    out = tmp_path / "out"
    p = subprocess.run(
        [str(pvmatrix), "gate", "--base", c["c0"], "--head", "HEAD", str(world["matrix"]), "--out", str(out),
         "--workdir", str(tmp_path / "work"), "--cache", str(world["cache"])],
        cwd=repo, capture_output=True, text=True, timeout=1800)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "(dirty)" in p.stdout, p.stdout
    assert any(f"REGRESSION {CELL}" in line for line in p.stdout.splitlines()), p.stdout
    meta = json.loads((out / "head/report.json").read_text())["meta"]["gate"]
    assert meta["head"]["dirty"] is True and meta["head"]["commit"] == c["c0"], meta
    assert git(repo, "status", "--porcelain") == "M kernel/releases/2.6.24.h"  # the user's edit is left alone


def test_baseline_history_takes_the_base_from_the_store(pvmatrix, world):
    """`gate --baseline history` (issue 17): the base is a recorded run of the base commit, not a build."""
    c = world["commits"]
    if not (world["tmp"] / "out1/base/report.json").exists():
        assert gate(pvmatrix, world, c["c0"], c["c1"], "out1").returncode == 0
    store = world["tmp"] / "history.sqlite"
    imp = subprocess.run([str(pvmatrix), "history", "import", str(world["tmp"] / "out1/base/report.json"), "--history",
                          str(store)], capture_output=True, text=True, timeout=60)
    assert imp.returncode == 0, imp.stdout + imp.stderr
    argv = [str(pvmatrix), "gate", "--base", c["c0"], "--head", c["c2"], str(world["matrix"]), "--out",
            str(world["tmp"] / "out-history"), "--workdir", str(world["work"]), "--cache", str(world["cache"]),
            "--baseline", "history", "--history", str(store)]
    p = subprocess.run(argv, cwd=world["repo"], capture_output=True, text=True, timeout=1800)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "gate: base = history run 1 (matrix gate-small, revision " + c["c0"][:12] in p.stdout, p.stdout
    assert "gate: base:" not in p.stdout  # nothing built or run for the base
    assert any(f"REGRESSION {CELL}" in line for line in p.stdout.splitlines()), p.stdout
    argv[argv.index("--base") + 1] = c["c1"]  # no recorded run of that commit
    p = subprocess.run(argv, cwd=world["repo"], capture_output=True, text=True, timeout=1800)
    assert p.returncode == 2
    assert "no complete run of matrix gate-small on revision " + c["c1"] in p.stderr, p.stderr
