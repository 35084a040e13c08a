"""The pytest driver against the real core (build/pvmatrix, real QEMU boots).

The driver must give the same answers as `pvmatrix run`: the reports written at the end of
a pytest session are compared with `pvmatrix run`'s, cell by cell, for matrix/smoke.json.
The binary comes from $PVMATRIX_BUILD (default: <repo>/build).
"""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("PVMATRIX_BUILD", REPO / "build"))
SMOKE = "matrix/smoke.json"
NIGHTLY = "matrix/nightly.json"


@pytest.fixture(scope="module")
def pvmatrix_bin():
    binary = BUILD / "pvmatrix"
    if not binary.is_file():
        pytest.fail(f"{binary} is missing: build first (cmake -S . -B build && cmake --build build)")
    return binary


def run_pytest(pvmatrix_bin, *args):
    """`python3 -m pytest --pvmatrix ...` from the repository root, as a user runs it."""
    argv = [sys.executable, "-m", "pytest", f"--pvmatrix-bin={pvmatrix_bin}", "-p", "no:cacheprovider", *args]
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600)


def comparable(cell):
    """What must not depend on who drove the run (timings, the time of day and paths may)."""
    keep = ("id", "kernel", "hv", "config", "cmdline", "status", "outcome", "expected",
            "expected_reason", "binding", "hv_api", "hv_features", "hv_refused", "stage",
            "stages", "probes", "reason", "log")
    out = {k: cell.get(k) for k in keep}
    # The wallclock probe reports the time of day it read.
    out["probes"] = [{**p, "detail": None} if p.get("id") == "time.wallclock" else p for p in cell.get("probes") or []]
    out["attempts"] = [a.get("status") for a in cell.get("attempts") or []]
    return out


def test_collects_the_nightly_matrix_with_stable_ids(pvmatrix_bin):
    listed = subprocess.run([pvmatrix_bin, "list", NIGHTLY, "--json"], cwd=REPO, capture_output=True,
                            text=True, check=True)
    data = json.loads(listed.stdout)
    want = [c["id"] for c in (data["cells"] if isinstance(data, dict) else data)]

    result = run_pytest(pvmatrix_bin, "--pvmatrix", NIGHTLY, "--collect-only", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    got = [line.split("::", 1)[1] for line in result.stdout.splitlines() if "::" in line]
    assert got == want
    assert "kernel=2.6.25/hv=rom-1.12/cfg=default" in got

    result = run_pytest(pvmatrix_bin, "--pvmatrix", NIGHTLY, "--collect-only", "-q", "-k", "rom-1.12")
    selected = [line.split("::", 1)[1] for line in result.stdout.splitlines() if "::" in line]
    assert selected == [i for i in want if "hv=rom-1.12/" in i]


def test_reports_equal_pvmatrix_run_cell_by_cell(pvmatrix_bin, tmp_path):
    by_run = subprocess.run([pvmatrix_bin, "run", SMOKE, "--out", tmp_path / "run"], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert by_run.returncode in (0, 1), by_run.stderr
    by_pytest = run_pytest(pvmatrix_bin, "--pvmatrix", SMOKE, "--pvmatrix-out", tmp_path / "pytest", "-n", "2",
                           "--junitxml", tmp_path / "junit.xml")
    assert by_pytest.returncode == by_run.returncode, by_pytest.stdout + by_pytest.stderr
    assert f"-> {tmp_path / 'pytest'}/report.json" in by_pytest.stdout

    run_report = json.loads((tmp_path / "run" / "report.json").read_text())
    pytest_report = json.loads((tmp_path / "pytest" / "report.json").read_text())
    assert [c["id"] for c in pytest_report["cells"]] == [c["id"] for c in run_report["cells"]]
    for ours, theirs in zip(pytest_report["cells"], run_report["cells"]):
        assert comparable(ours) == comparable(theirs), ours["id"]
    # Host pressure (summary.host) is how busy the host was, not what the guests did.
    assert ({k: v for k, v in pytest_report["summary"].items() if k != "host"} ==
            {k: v for k, v in run_report["summary"].items() if k != "host"})
    assert pytest_report["axes"] == run_report["axes"]
    assert pytest_report["complete"] == run_report["complete"]
    for name in ("report.html", "junit.xml", "summary.md"):
        assert (tmp_path / "pytest" / name).is_file(), name
    for cell in pytest_report["cells"]:
        if cell.get("log"):
            assert (tmp_path / "pytest" / cell["log"]).is_file(), cell["log"]

    # pytest's own junit: one testcase per cell, named by its id, with its status.
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "junit.xml").iter("testcase")}
    assert set(cases) == {c["id"] for c in run_report["cells"]}
    for cell in run_report["cells"]:
        props = {p.get("name"): p.get("value") for p in cases[cell["id"]].iter("property")}
        assert props["status"] == cell["status"], cell["id"]
