"""The pytest driver (harness/pytest_pvmatrix.py) against a fake core.

These tests pin the driver's own behaviour — ids, outcome mapping, -k, --lf, xdist, junit,
usage errors, the hand-over to the core at session end — with a stand-in `pvmatrix`
(tests/fixtures/pytest/fake_pvmatrix.py) so they run in seconds. The same driver against the
real core is test_pytest_driver_e2e.py.
"""
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
FAKE = REPO / "tests" / "fixtures" / "pytest" / "fake_pvmatrix.py"

# One cell per final status the core can give.
EVERY_STATUS = [
    {"kernel": "2.6.24", "hv": "rom-1.12", "status": "PASS"},
    {"kernel": "2.6.25", "hv": "rom-1.12", "status": "FAIL"},
    {"kernel": "2.6.25", "hv": "rom-1.1", "status": "XFAIL"},
    {"kernel": "2.6.25", "hv": "rom-1.0", "status": "XPASS"},
    {"kernel": "2.6.22", "hv": "rom-2.0", "status": "CRASH"},
    {"kernel": "2.6.22", "hv": "rom-1.13", "status": "HANG"},
    {"kernel": "2.6.21", "hv": "rom-1.13", "status": "ERROR", "reason": "qemu-system-i386 not found"},
    {"kernel": "2.6.20", "hv": "rom-1.13", "status": "SKIP", "reason": "libvirt is not running"},
    {"kernel": "2.6.21", "hv": "rom-1.0", "config": "native-timer", "status": "FLAKY"},
]


@pytest.fixture
def driver(pytester, monkeypatch):
    """A pytester dir whose conftest loads the driver, with the fake core and a call log."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("FAKE_PVMATRIX_CALLS", str(pytester.path / "calls.jsonl"))
    monkeypatch.delenv("PVMATRIX_BIN", raising=False)
    pytester.makeconftest('pytest_plugins = ["harness.pytest_pvmatrix"]')

    class Driver:
        path = pytester.path

        def matrix(self, cells, name="m.json"):
            (pytester.path / name).write_text(json.dumps({"cells": cells}))
            return name

        def run(self, *args, matrix="m.json"):
            # `=`: pytest guesses its rootdir from unknown options' values (conftest options
            # are unknown that early), and FAKE lives in this repository.
            return pytester.runpytest_subprocess("--pvmatrix", matrix, f"--pvmatrix-bin={FAKE}", *args)

        def cells_run(self):
            """Ids the fake core booted, in call order."""
            log = pytester.path / "calls.jsonl"
            calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
            return [c[c.index("--only") + 1] for c in calls if "--only" in c]

        def report(self, out="out/pytest"):
            return json.loads((pytester.path / out / "report.json").read_text())

    return Driver()


def test_items_are_cells_with_stable_ids(driver):
    driver.matrix(EVERY_STATUS)
    result = driver.run("--collect-only", "-q")
    assert result.ret == 0
    ids = [line for line in result.outlines if "::" in line]
    assert ids[:2] == ["m.json::kernel=2.6.24/hv=rom-1.12/cfg=default",
                       "m.json::kernel=2.6.25/hv=rom-1.12/cfg=default"]
    assert len(ids) == len(EVERY_STATUS)
    assert driver.cells_run() == []  # collecting boots nothing
    assert not (driver.path / "out").exists()


def test_outcome_mapping(driver):
    driver.matrix(EVERY_STATUS)
    result = driver.run("-rA")
    # PASS, FLAKY pass; FAIL CRASH HANG XPASS fail; ERROR errors; SKIP skips; XFAIL xfails.
    result.assert_outcomes(passed=2, failed=4, errors=1, skipped=1, xfailed=1)
    out = result.stdout.str()
    # A failure reads as the cell's evidence and how to reproduce it, not a Python traceback.
    result.stdout.fnmatch_lines([
        "*_ kernel=2.6.25/hv=rom-1.12/cfg=default _*",
        "FAIL: probe time.oneshot failed",
        "last stage: timer",
        "probe time.oneshot failed (call 68): SetAlarm refused one-shot (-38)",
        "evidence:",
        "*@pvm*time.oneshot*",
        "reproduce: build/pvmatrix cell --kernel 2.6.25 --hv rom-1.12",
    ])
    assert "Traceback" not in out and "pytest_pvmatrix.py:" not in out
    result.stdout.fnmatch_lines(["*XPASS: *", "expected FAIL: 2.6.25 needs one-shot alarms"])
    result.stdout.fnmatch_lines(["*ERROR at setup of kernel=2.6.21/hv=rom-1.13/cfg=default*",
                                 "ERROR: qemu-system-i386 not found"])
    result.stdout.fnmatch_lines(["SKIPPED [[]1] m.json:1: libvirt is not running"])
    result.stdout.fnmatch_lines(["XFAIL *kernel=2.6.25/hv=rom-1.1/cfg=default*2.6.25 needs one-shot alarms"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_k_selects_cells_by_hypervisor_and_kernel(driver):
    driver.matrix(EVERY_STATUS)
    result = driver.run("-k", "rom-1.12", "-q")
    result.assert_outcomes(passed=1, failed=1, deselected=len(EVERY_STATUS) - 2)
    assert driver.cells_run() == ["kernel=2.6.24/hv=rom-1.12/cfg=default",
                                  "kernel=2.6.25/hv=rom-1.12/cfg=default"]

    result = driver.run("-k", "2.6.25 and not rom-1.1", "--collect-only", "-q")
    ids = [line.split("::")[1] for line in result.outlines if "::" in line]
    assert ids == ["kernel=2.6.25/hv=rom-1.0/cfg=default"]  # `rom-1.1` is a substring of rom-1.12

    result = driver.run("-k", "native-timer", "--collect-only", "-q")
    assert [line for line in result.outlines if "::" in line] == [
        "m.json::kernel=2.6.21/hv=rom-1.0/cfg=native-timer"]


def test_last_failed_reruns_only_failed_cells(driver):
    driver.matrix([
        {"kernel": "2.6.24", "hv": "rom-1.12", "status": "PASS"},
        {"kernel": "2.6.25", "hv": "rom-1.12", "status": "FAIL_ONCE"},
        {"kernel": "2.6.25", "hv": "rom-1.13", "status": "PASS"},
    ])
    driver.run().assert_outcomes(passed=2, failed=1)
    assert len(driver.cells_run()) == 3

    result = driver.run("--lf")
    result.assert_outcomes(passed=1, deselected=2)
    assert driver.cells_run()[3:] == ["kernel=2.6.25/hv=rom-1.12/cfg=default"]
    # The report of the re-run holds the re-run cell.
    assert [c["id"] for c in driver.report()["cells"]] == ["kernel=2.6.25/hv=rom-1.12/cfg=default"]


def test_exitfirst_stops_after_the_first_failing_cell(driver):
    driver.matrix(EVERY_STATUS)
    driver.run("-x").assert_outcomes(passed=1, failed=1)
    assert len(driver.cells_run()) == 2


def test_xdist_workers_hand_every_cell_to_the_controller(driver):
    driver.matrix(EVERY_STATUS)
    result = driver.run("-n", "2", "--pvmatrix-out", "xd")
    result.assert_outcomes(passed=2, failed=4, errors=1, skipped=1, xfailed=1)
    assert sorted(driver.cells_run()) == sorted(
        f"kernel={c['kernel']}/hv={c['hv']}/cfg={c.get('config', 'default')}" for c in EVERY_STATUS)
    report = driver.report("xd")
    # Every cell once, in the matrix's order (the core orders them), with its final status.
    assert [c["status"] for c in report["cells"]] == [c["status"] for c in EVERY_STATUS]
    result.stdout.fnmatch_lines([f"pvmatrix: {len(EVERY_STATUS)} cell(s) -> */xd/report.json*"])


def test_junit_testcases_are_cells_with_properties(driver):
    driver.matrix(EVERY_STATUS)
    driver.run("--junitxml", "junit.xml", "-n", "2")
    cases = {c.get("name"): c for c in ET.parse(driver.path / "junit.xml").iter("testcase")}
    assert set(cases) == {
        f"kernel={c['kernel']}/hv={c['hv']}/cfg={c.get('config', 'default')}" for c in EVERY_STATUS}

    def props(name):
        return {p.get("name"): p.get("value") for p in cases[name].iter("property")}

    flaky = props("kernel=2.6.21/hv=rom-1.0/cfg=native-timer")
    assert flaky == {"status": "FLAKY", "attempts": "2", "attempt_statuses": "FAIL,PASS"}
    assert props("kernel=2.6.24/hv=rom-1.12/cfg=default") == {"status": "PASS", "attempts": "1"}
    failure = cases["kernel=2.6.25/hv=rom-1.12/cfg=default"].find("failure")
    assert "reproduce: build/pvmatrix cell" in failure.text
    assert cases["kernel=2.6.21/hv=rom-1.13/cfg=default"].find("error") is not None
    assert cases["kernel=2.6.25/hv=rom-1.1/cfg=default"].find("skipped").get("type") == "pytest.xfail"


def test_session_end_hands_the_cells_to_the_core(driver):
    driver.matrix(EVERY_STATUS)
    driver.run("-k", "rom-1.13", "--pvmatrix-out", "rep")
    cells_file = driver.path / "rep" / "cells.jsonl"
    ids = [json.loads(line)["id"] for line in cells_file.read_text().splitlines()]
    assert sorted(ids) == sorted(["kernel=2.6.22/hv=rom-1.13/cfg=default",
                                  "kernel=2.6.21/hv=rom-1.13/cfg=default",
                                  "kernel=2.6.20/hv=rom-1.13/cfg=default"])
    report = driver.report("rep")
    assert [c["status"] for c in report["cells"]] == ["HANG", "ERROR", "SKIP"]
    # The serial logs sit where the cell objects say, beside the report; no work dirs are left.
    for cell in report["cells"]:
        assert (driver.path / "rep" / cell["log"]).read_text() == f"serial log of {cell['id']}\n"
    assert sorted(p.name for p in (driver.path / "rep").iterdir()) == ["cells.jsonl", "logs", "report.json"]


def test_a_core_without_an_answer_is_an_error_not_a_failure(driver):
    driver.matrix([{"kernel": "2.6.25", "hv": "rom-1.12", "status": "NO_REPORT"}])
    result = driver.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*harness error: `*fake_pvmatrix.py run *m.json --only kernel=2.6.25/hv=rom-1.12/cfg=default*` "
        "exited 2 without a report holding kernel=2.6.25/hv=rom-1.12/cfg=default:",
        "pvmatrix run: something broke"])


def test_missing_matrix_is_a_usage_error(driver):
    result = driver.run(matrix="no-such-matrix.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --pvmatrix: matrix file not found: */no-such-matrix.json"])


def test_missing_binary_is_a_usage_error_with_a_hint(pytester, driver):
    driver.matrix(EVERY_STATUS)
    result = pytester.runpytest_subprocess("--pvmatrix", "m.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --pvmatrix: no pvmatrix binary at */build/pvmatrix*cmake*--build*"])


def test_without_pvmatrix_other_suites_run_untouched(pytester, driver):
    driver.matrix(EVERY_STATUS)
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1)
    assert driver.cells_run() == []
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["pvmatrix: every matrix cell is a test item:", "*--pvmatrix=MATRIX*"])
