"""The per-patch gate and bisect, end to end, on a throwaway git repository.

The repository is a clone of this one at HEAD plus a series of commits:
  c0 (HEAD) -> c1 README only -> c2 2.6.24 drops the periodic timer fallback -> c3 README only
  -> c4 rom-1.13 gets more guest memory (one hypervisor column changes, nothing else)
  -> c5 a negotiation bug: 2.6.22 stops speaking API 3 (it boots native on every rom-1.x).
c2 is a deliberate kernel regression: 2.6.24 on rom-1.1/rom-1.12 (periodic-only alarms) stops
passing, and pv.native=timer works around it. The gate fails at c2 and only there; a benign
commit passes with zero boots (the result cache); bisect finds c2. c5 touches no cell of the
small gate matrix: the gate finds it through the world (matrix/nightly.json), BINDING_LOST.

Slow (it builds guest images in worktrees; one test builds the head's own pvmatrix).
"""
import json
import os
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest

from conftest import REPO

SCHEMA = json.loads((REPO / "reports/schema/report.schema.json").read_text())


def validate(report):
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)

CELL = "kernel=2.6.24/hv=rom-1.12/cfg=default"
MATRIX = {
    "name": "gate-small",
    "kernels": ["2.6.24", "2.6.25"],
    "hypervisors": ["rom-1.1", "rom-1.12", "rom-1.13"],
    "timeout": 20,
}
# The world the gate picks affected cells from: every reference kernel on every ROM in three
# configs (the nightly's Xen and real-kernel cells cost seconds to minutes each; one test below
# uses the shipped nightly itself).
WORLD = {
    "name": "world-small",
    "kernels": ["2.6.*"],
    "hypervisors": ["rom-*"],
    "configs": [{"name": "default", "cmdline": ""}, {"name": "native-timer", "cmdline": "pv.native=timer"},
                {"name": "native-all", "cmdline": "pv.native=all"}],
    "timeout": 20,
    "known_issues": ["known-issues.json"],
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
    # The world lives in each revision's tree (matrix/ of the clone, from c0 on).
    (repo / "matrix/world-small.json").write_text(json.dumps(WORLD))
    git(repo, "add", "matrix/world-small.json")
    c = {"c0": commit(repo, "tests: a small world for the gate")}
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
    profile = repo / "kernel/releases/2.6.22.h"
    text = profile.read_text()
    assert ".api_majors = api_major_bit(3)," in text
    profile.write_text(text.replace(".api_majors = api_major_bit(3),", ".api_majors = api_major_bit(4),"))
    c["c5"] = commit(repo, "2.6.22: negotiate API 4 only (a bug: it speaks 3)")
    matrix = tmp / "gate-small.json"
    matrix.write_text(json.dumps(MATRIX))
    return {"tmp": tmp, "repo": repo, "commits": c, "matrix": matrix, "cache": tmp / "cache", "work": tmp / "work"}


def gate(pvmatrix, world, base, head, out, world_matrix="matrix/world-small.json"):
    proc = subprocess.run(
        [str(pvmatrix), "gate", "--base", base, "--head", head, str(world["matrix"]), "--out", str(world["tmp"] / out),
         "--workdir", str(world["work"]), "--cache", str(world["cache"]), "--world", world_matrix],
        cwd=world["repo"], capture_output=True, text=True, timeout=1800)
    return proc


def booted(stdout, side):
    m = re.search(rf"gate: {side}: (\d+) cells, (-?\d+) booted, (-?\d+) from cache", stdout)
    assert m, stdout
    return int(m.group(2))


def world_cells(pvmatrix, images, world, only, matrix="matrix/world-small.json"):
    """Ids of the world's cells matching `only` (as the clone holds it at c0)."""
    out = subprocess.run([str(pvmatrix), "list", str(world["repo"] / matrix), "--only", only, "--root", str(REPO),
                          "--images", str(images)], check=True, capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if l.startswith("kernel=")]


def small_cells(kernels=MATRIX["kernels"], hvs=MATRIX["hypervisors"]):
    return {f"kernel={k}/hv={h}/cfg=default" for k in kernels for h in hvs}


def affected(stdout, why):
    m = re.search(rf"^gate: \+(\d+) cells: {re.escape(why)}$", stdout, re.M)
    assert m, stdout
    return int(m.group(1))


# The gates below lean on what earlier gates left in the module's result cache; these fixtures
# run each such gate once, in order, whichever test asks first (a test passes alone as in order).
@pytest.fixture(scope="module")
def benign_gate(pvmatrix, world):
    """The module's first gate, from c0 to c1 (README only), on an empty result cache."""
    c = world["commits"]
    return gate(pvmatrix, world, c["c0"], c["c1"], "out1")


def test_benign_commit_passes(pvmatrix, world, benign_gate):
    p = benign_gate
    assert p.returncode == 0, p.stdout + p.stderr
    assert booted(p.stdout, "base") == 6
    # Same kernel and ROM bytes at c1: every head cell answered by the cache.
    assert booted(p.stdout, "head") == 0, p.stdout
    assert "the change touches no other cell of matrix/world-small.json" in p.stdout
    assert "No regression" in p.stdout
    verdicts = json.loads((world["tmp"] / "out1/verdicts.json").read_text())
    assert verdicts["regressions"] == 0


@pytest.fixture(scope="module")
def regression_gate(pvmatrix, world, benign_gate):
    """The gate from c0 to c2 (the kernel regression), after benign_gate (c0's gate cells are in
    the cache): its process, and the cache it leaves (c2's cells, which are c3's too: c3 changes
    only the README)."""
    c = world["commits"]
    return gate(pvmatrix, world, c["c0"], c["c2"], "out2")


def test_regression_fails_the_gate_with_a_workaround(pvmatrix, images, world, regression_gate):
    p = regression_gate
    assert p.returncode == 1, p.stdout + p.stderr
    # Only 2.6.24's image changed: its row of the world boots at both ends, beside the gate
    # matrix (whose base cells the first gate booted already).
    row = set(world_cells(pvmatrix, images, world, "kernel=2.6.24")) - small_cells()
    assert affected(p.stdout, "kernel 2.6.24 changed") == len(row) > 10
    assert booted(p.stdout, "base") == len(row), p.stdout
    assert booted(p.stdout, "head") == 3 + len(row), p.stdout
    line = next(l for l in p.stdout.splitlines() if f"REGRESSION {CELL}" in l)
    assert "was PASS, now FAIL at stage timer" in line
    assert "pv.native=timer" in line
    assert "kernel=2.6.24/hv=rom-1.13/cfg=default" not in [l for l in p.stdout.splitlines() if "REGRESSION" in l]
    report = json.loads((world["tmp"] / "out2/head/report.json").read_text())
    cell = next(x for x in report["cells"] if x["id"] == CELL)
    assert cell["verdict"] == "REGRESSION"
    assert {"mask": "pv.native=timer", "status": "PASS"} in cell["workarounds"]
    assert any(v["id"] == CELL and v["verdict"] == "REGRESSION" for v in report["verdicts"])


def test_one_hypervisor_changed_boots_only_its_column(pvmatrix, images, world, regression_gate):
    # regression_gate: c3's gate cells are in the cache whether or not the test above ran first.
    c = world["commits"]
    p = gate(pvmatrix, world, c["c3"], c["c4"], "out4")
    assert p.returncode == 0, p.stdout + p.stderr
    # At c4 only rom-1.13 differs: its column of the world, and the gate matrix's two cells of it.
    column = set(world_cells(pvmatrix, images, world, "hv=rom-1.13")) - small_cells()
    assert affected(p.stdout, "rom-1.13 changed") == len(column) > 10
    assert "kernel 2" not in p.stdout.split("gate: base:")[0]  # no kernel changed
    assert booted(p.stdout, "head") == 2 + len(column), p.stdout
    assert booted(p.stdout, "base") <= len(column), p.stdout  # c3's gate cells were all booted before


def test_a_break_outside_the_gate_matrix_is_caught_binding_lost(pvmatrix, images, world):
    """c5 breaks 2.6.22, which the small gate matrix does not hold: the shipped world's
    (matrix/nightly.json) 2.6.22 row is booted at both ends, and a kernel that silently stopped
    using the ROM fails the gate with its own verdict, naming the groups, though every one of its
    cells still passes."""
    c = world["commits"]
    p = gate(pvmatrix, world, c["c4"], c["c5"], "out5", world_matrix="matrix/nightly.json")
    assert p.returncode == 1, p.stdout + p.stderr
    row = world_cells(pvmatrix, images, world, "kernel=2.6.22", matrix="matrix/nightly.json")
    assert affected(p.stdout, "kernel 2.6.22 changed") == len(row)
    cell = "kernel=2.6.22/hv=rom-1.12/cfg=default"
    line = next(l for l in p.stdout.splitlines() if l.startswith(f"- BINDING_LOST {cell}:"))
    assert "PASS but stopped using the hypervisor for cpu, irq, mmu, timer, lazy" in line, line
    assert "[re-run: PASS]" in line, line  # confirmed by a fresh boot
    assert "FAIL (binding lost)" in p.stdout
    assert not [l for l in p.stdout.splitlines() if l.startswith("- REGRESSION")], p.stdout
    out = world["tmp"] / "out5"
    verdicts = json.loads((out / "verdicts.json").read_text())
    assert verdicts["regressions"] == 0 and verdicts["bindings_lost"] >= 6, verdicts["summary"]
    lost = next(v for v in verdicts["verdicts"] if v["id"] == cell)
    assert lost["verdict"] == "BINDING_LOST" and lost["lost_groups"] == ["cpu", "irq", "mmu", "timer", "lazy"]
    assert verdicts["gate"]["affected"] == [{"why": "kernel 2.6.22 changed", "cells": len(row)}]
    report = json.loads((out / "head/report.json").read_text())
    validate(report)
    assert next(x for x in report["cells"] if x["id"] == cell)["verdict"] == "BINDING_LOST"
    # The world cell's log is where its run wrote it.
    log = next(x for x in report["cells"] if x["id"] == cell)["log"]
    assert (out / "head" / log).is_file(), log
    junit = (out / "head/junit.xml").read_text()
    assert 'type="BINDING_LOST"' in junit


def nightly_of(pvmatrix, world, rev, store, matrix="matrix/world-small.json"):
    """What a team's nightly on `rev` leaves behind: the tree checked out and built as
    scripts/build.sh builds it (RelWithDebInfo; the kernels' build id is the revision), the world
    matrix run and recorded in the history store `store`. Its report directory."""
    src = world["tmp"] / f"nightly-{rev[:8]}"
    if not src.exists():
        git(world["repo"], "worktree", "add", "-q", "--detach", str(src), rev)
        build = src / "build"
        subprocess.run(["cmake", "-S", str(src), "-B", str(build), "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], check=True,
                       capture_output=True)
        subprocess.run(["cmake", "--build", str(build), "--target", "guest_images", "-j", str(os.cpu_count())],
                       check=True, capture_output=True)
    out = world["tmp"] / f"nightly-out-{rev[:8]}"
    p = subprocess.run([str(pvmatrix), "run", str(src / matrix), "--root", str(src), "--images", str(src / "build/images"),
                        "--out", str(out), "--history", str(store)], capture_output=True, text=True, timeout=1800)
    assert p.returncode in (0, 1), p.stdout + p.stderr
    assert "history: run" in p.stdout, p.stdout
    return out


def history_gate(pvmatrix, world, base, head, out, store):
    return subprocess.run(
        [str(pvmatrix), "gate", "--base", base, "--head", head, str(world["matrix"]), "--out", str(world["tmp"] / out),
         "--workdir", str(world["work"]), "--cache", str(world["cache"]), "--world", "matrix/world-small.json",
         "--baseline", "history", "--history", str(store)],
        cwd=world["repo"], capture_output=True, text=True, timeout=1800)


def test_gate_against_the_history_store_builds_and_boots_no_base(pvmatrix, images, world):
    """--baseline history: the base is what the nightly recorded on the base commit. Its inputs
    (recorded with it) choose the affected cells, its results are the base's: nothing of the
    base is checked out, built or booted, and the regression at c2 is still caught, with the
    same cells as a gate that boots its base."""
    c = world["commits"]
    store = world["tmp"] / "team-history.sqlite"
    nightly_of(pvmatrix, world, c["c1"], store)
    p = history_gate(pvmatrix, world, c["c1"], c["c2"], "out-h2", store)
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"gate: base = {c['c1']} ({c['c1'][:12]}), from the history store" in p.stdout, p.stdout
    assert re.search(r"^gate: base: history run \d+ \(matrix world-small, revision " + c["c1"][:12], p.stdout, re.M), p.stdout
    # The nightly was built the nightly's way (its own build id, RelWithDebInfo), the head the
    # gate's way: only 2.6.24's row differs, exactly as between two gate builds.
    row = set(world_cells(pvmatrix, images, world, "kernel=2.6.24")) - small_cells()
    assert affected(p.stdout, "kernel 2.6.24 changed") == len(row), p.stdout
    assert "changed" not in p.stdout.replace("kernel 2.6.24 changed", ""), p.stdout
    m = re.search(r"^gate: base: (\d+) cells from the history store, 0 booted$", p.stdout, re.M)
    assert m and int(m.group(1)) == len(small_cells()) + len(row), p.stdout
    line = next(l for l in p.stdout.splitlines() if f"REGRESSION {CELL}" in l)
    assert "was PASS, now FAIL at stage timer" in line and "pv.native=timer" in line, line
    verdicts = json.loads((world["tmp"] / "out-h2/verdicts.json").read_text())
    assert verdicts["gate"]["base"]["harness"] is None
    assert verdicts["gate"]["base"]["history"] and "world-small" in verdicts["gate"]["base"]["history"][0]
    assert not (world["work"] / f"base/src").exists() or git(world["work"] / "base/src", "rev-parse", "HEAD") != c["c1"]


def test_gate_against_history_without_a_recorded_base_is_a_clear_error(pvmatrix, world, tmp_path):
    """No complete run on the base commit, or one recorded without inputs (an imported report):
    exit 2, naming the store, the matrix, the revision and what to do; nothing is booted."""
    c = world["commits"]
    p = history_gate(pvmatrix, world, c["c3"], c["c4"], "out-h4", tmp_path / "nowhere.sqlite")
    assert p.returncode == 2 and "nowhere.sqlite: no such file" in p.stderr, p.stdout + p.stderr
    store = tmp_path / "history.sqlite"
    report = nightly_of(pvmatrix, world, c["c1"], store) / "report.json"
    p = history_gate(pvmatrix, world, c["c3"], c["c4"], "out-h4", store)
    assert p.returncode == 2, p.stdout + p.stderr
    assert f"no complete run of matrix world-small on revision {c['c3']}" in p.stderr, p.stderr
    assert "run `pvmatrix run` of matrix world-small" in p.stderr, p.stderr
    assert "booted" not in p.stdout, p.stdout
    # The nightly's report imported into another store: results, but no inputs.
    imported = tmp_path / "imported.sqlite"
    subprocess.run([str(pvmatrix), "history", "import", str(report), "--history", str(imported)], check=True,
                   capture_output=True)
    p = history_gate(pvmatrix, world, c["c1"], c["c2"], "out-h5", imported)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "was recorded without its inputs" in p.stderr, p.stderr


def test_a_head_that_extends_the_abi_is_judged_by_its_own_harness(pvmatrix, images, world, tmp_path):
    """The head adds call 77 to the ABI and to the one call table (pvrom/calls.h), and lists it in
    rom-1.13.1: this pvmatrix cannot read the head's rom-1.13.1 (exit 2), the head's own can,
    so the gate builds it, lets it run and judge the head, and passes."""
    c = world["commits"]
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(world["repo"]), str(repo)], check=True)
    git(repo, "checkout", "-q", c["c0"])
    edit = lambda rel, old, new: (repo / rel).write_text((repo / rel).read_text().replace(old, new, 1))
    abi = "hypervisor-versions/rom/include/pvrom/abi.h"
    assert "kCallGetCycleCounter4 = 76," in (repo / abi).read_text()
    edit(abi, "kCallGetCycleCounter4 = 76,", "kCallGetCycleCounter4 = 76,\n  kCallGetTimeOfDay = 77,  ///< uint64_t () -- test")
    calls = "hypervisor-versions/rom/include/pvrom/calls.h"  # the one call table (host, ROMs, kernel, report.js)
    row = '"rom_get_cycle_counter"},  // the counter\'s home from API 4\n'
    assert row in (repo / calls).read_text()
    edit(calls, row, row + '    {kCallGetTimeOfDay, "GetTimeOfDay", OpGroup::kTimer, false, "", 3, 4, "rom_get_wallclock_time"},\n')
    edit("hypervisor-versions/rom-1.13.1/version.json", '{"number": 75, "name": "GetFeatures", "reloc": "CALL_REL"}',
         '{"number": 75, "name": "GetFeatures", "reloc": "CALL_REL"},\n    {"number": 77, "name": "GetTimeOfDay", "reloc": "NOP"}')
    head = commit(repo, "ABI: call 77 GetTimeOfDay (rom-1.13.1 lists it)")
    # This harness does not know call 77.
    mine = subprocess.run([str(pvmatrix), "list", "--root", str(repo), "--images", str(images)],
                          capture_output=True, text=True)
    assert mine.returncode == 2 and "call 77 does not exist" in mine.stderr, mine.stderr
    out = tmp_path / "out"
    p = subprocess.run(
        [str(pvmatrix), "gate", "--base", c["c0"], "--head", head, str(world["matrix"]), "--out", str(out),
         "--workdir", str(world["work"]), "--cache", str(world["cache"]), "--world", "matrix/world-small.json"],
        cwd=repo, capture_output=True, text=True, timeout=3600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "the head's own pvmatrix runs and judges the head" in p.stdout
    assert affected(p.stdout, "rom-1.13.1 changed") == len(world_cells(pvmatrix, images, world, "hv=rom-1.13.1"))
    meta = json.loads((out / "head/report.json").read_text())["meta"]["gate"]
    assert meta["head"]["harness"] == str(world["work"] / "head/build/pvmatrix")
    assert meta["base"]["harness"] == os.path.realpath(pvmatrix)


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
    assert git(world["repo"], "rev-parse", "HEAD") == c["c5"]
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
         "--workdir", str(tmp_path / "work"), "--cache", str(world["cache"]), "--world", "matrix/world-small.json"],
        cwd=repo, capture_output=True, text=True, timeout=1800)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "(dirty)" in p.stdout, p.stdout
    assert any(f"REGRESSION {CELL}" in line for line in p.stdout.splitlines()), p.stdout
    meta = json.loads((out / "head/report.json").read_text())["meta"]["gate"]
    assert meta["head"]["dirty"] is True and meta["head"]["commit"] == c["c0"], meta
    assert git(repo, "status", "--porcelain") == "M kernel/releases/2.6.24.h"  # the user's edit is left alone


def test_a_head_that_does_not_build_is_named_and_leaves_no_worktree(pvmatrix, world, tmp_path):
    """Last in this file: it removes the shared head worktree (the base's stays, and builds again
    incrementally)."""
    c = world["commits"]
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(world["repo"]), str(repo)], check=True)
    git(repo, "checkout", "-q", c["c0"])
    profile = repo / "kernel/releases/2.6.24.h"
    profile.write_text(profile.read_text() + "\n#error this commit does not build\n")
    broken = commit(repo, "2.6.24: does not build")
    work = world["work"]
    p = subprocess.run(
        [str(pvmatrix), "gate", "--base", c["c0"], "--head", broken, str(world["matrix"]), "--out", str(tmp_path / "out"),
         "--workdir", str(work), "--cache", str(world["cache"])],
        cwd=repo, capture_output=True, text=True, timeout=1800)
    assert p.returncode == 2, p.stdout + p.stderr
    assert f"head {broken} ({broken[:12]}) does not build" in p.stderr, p.stderr
    assert "this commit does not build" in p.stderr, p.stderr  # the compiler's reason
    assert str(work / "head/src") not in git(repo, "worktree", "list")
    assert not (work / "head/src").exists()
