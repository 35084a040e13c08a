"""`pvmatrix run`, `list` and `report merge` end to end: real QEMU boots of matrix/smoke.json,
the report files checked against their schema and formats, bad input, shards, interruption."""
import importlib.util
import json
import os
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "reports/schema/report.schema.json").read_text())
SMOKE = REPO / "matrix/smoke.json"
KNOWN = REPO / "matrix/known-issues.json"
FAMOUS = "kernel=2.6.25/hv=rom-1.12/cfg=default"


@pytest.fixture(scope="session")
def run(pvmatrix, images):
    """run(*args) -> CompletedProcess of `pvmatrix ARGS` (run/list get --images)."""

    def go(*args, timeout=600):
        argv = [str(pvmatrix), *map(str, args)]
        if args and args[0] in ("run", "list"):
            argv += ["--images", str(images)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env={**os.environ, "CI": "true"})

    return go


@pytest.fixture(scope="session")
def smoke(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    proc = run("run", SMOKE, "--out", out, "-j", "2")
    return proc, out


def validate(report):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)


def write_matrix(path, **fields):
    path.write_text("// written by test_run.py\n" + json.dumps(fields, indent=1))
    return path


def test_smoke_run_exits_0_with_the_famous_cell_xfail(smoke):
    proc, out = smoke
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    validate(report)
    assert report["complete"] is True
    cells = {c["id"]: c for c in report["cells"]}
    assert len(cells) == len(report["cells"]) == report["summary"]["total"]
    famous = cells[FAMOUS]
    assert famous["status"] == "XFAIL" and famous["outcome"] == "FAIL" and famous["expected"] == "FAIL"
    assert famous["stage"] == "timer"
    assert any(p["id"] == "time.oneshot" and p["status"] == "fail" and p["call"] == 68 for p in famous["probes"])
    assert famous["evidence"] and famous["expected_reason"]
    workaround = cells["kernel=2.6.25/hv=rom-1.12/cfg=native-timer"]
    assert workaround["status"] == "PASS" and workaround["binding"]["timer"] == "native"
    # One serial log per cell, where the cell says.
    for c in report["cells"]:
        assert (out / c["log"]).is_file(), c["log"]
    meta = report["meta"]
    assert meta["qemu_version"].startswith("QEMU emulator version")
    assert len(meta["matrix"]["sha256"]) == 64 and meta["git"]["revision"]


def test_smoke_junit_has_one_testcase_per_cell(smoke):
    _, out = smoke
    report = json.loads((out / "report.json").read_text())
    root = ET.parse(out / "junit.xml").getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == len(report["cells"])
    names = {(c.get("classname"), c.get("name")) for c in cases}
    assert ("kernel-2.6.25", "hv=rom-1.12/cfg=default") in names
    famous = next(c for c in cases if c.get("classname") == "kernel-2.6.25" and c.get("name") == "hv=rom-1.12/cfg=default")
    assert famous.find("skipped") is not None  # XFAIL
    props = {p.get("name"): p.get("value") for p in famous.iter("property")}
    assert props["status"] == "XFAIL" and props["attempts"] == "1" and "timer=rom" in props["binding"]


def test_smoke_summary_lists_the_famous_cell(smoke):
    _, out = smoke
    md = (out / "summary.md").read_text()
    assert "## Unexpected results (0)" in md
    assert FAMOUS in md


def test_unexpected_failure_exits_1_with_evidence_and_reproduce(run, tmp_path):
    matrix = write_matrix(tmp_path / "m.json", kernels=["2.6.25"], hypervisors=["rom-1.12"])  # no known issues
    out = tmp_path / "out"
    proc = run("run", matrix, "--out", out)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    md = (out / "summary.md").read_text()
    assert f"### FAIL `{FAMOUS}`" in md
    assert "time.oneshot" in md and f"--only '{FAMOUS}'" in md
    root = ET.parse(out / "junit.xml").getroot()
    failure = root.find(".//testcase/failure")
    assert failure is not None and "time.oneshot" in (failure.get("message") + failure.text)


def test_list_prints_ids_in_order_and_json(run):
    proc = run("list", SMOKE)
    assert proc.returncode == 0, proc.stderr
    ids = proc.stdout.split()
    assert FAMOUS in ids and ids == sorted(ids, key=ids.index)
    data = json.loads(run("list", SMOKE, "--json").stdout)
    assert [c["id"] for c in data["cells"]] == ids
    famous = next(c for c in data["cells"] if c["id"] == FAMOUS)
    assert famous["expected"] == "FAIL" and famous["machine"] == "microvm"


def test_list_json_carries_the_status_table(run):
    """The pytest driver maps cell statuses to outcomes from this table; its fake core
    (tests/fixtures/pytest/fake_pvmatrix.py) prints a copy, which must stay the same."""
    data = json.loads(run("list", SMOKE, "--json").stdout)
    assert [s["name"] for s in data["statuses"]] == ["PASS", "FAIL", "CRASH", "HANG", "ERROR", "SKIP", "XFAIL",
                                                     "XPASS", "FLAKY"]
    spec = importlib.util.spec_from_file_location("fake_pvmatrix", REPO / "tests/fixtures/pytest/fake_pvmatrix.py")
    fake = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fake)
    assert data["statuses"] == fake.STATUSES


def test_malformed_matrix_exits_2_with_position(run, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "kernels": ["2.6.25"],\n  "hypervisors": ["rom-1.12"]\n  "configs": []\n}\n')
    proc = run("run", bad, "--out", tmp_path / "o")
    assert proc.returncode == 2
    # Line 4 holds the token that cannot follow: the missing comma is reported there.
    assert re.search(re.escape(str(bad)) + r":4:\d+: .*expected", proc.stderr), proc.stderr


def test_unknown_key_and_unknown_names_exit_2(run, tmp_path):
    m = write_matrix(tmp_path / "k.json", kernels=["2.6.25"], hypervisors=["rom-1.12"], retrys=1)
    proc = run("list", m)
    assert proc.returncode == 2 and 'unknown key "retrys"' in proc.stderr and f"{m}:" in proc.stderr
    m = write_matrix(tmp_path / "g.json", kernels=["2.6.25"], hypervisors=["hyperv-*"])
    proc = run("list", m)
    assert proc.returncode == 2 and "matches nothing" in proc.stderr and "rom-1.13.1" in proc.stderr
    m = write_matrix(tmp_path / "e.json", kernels=["2.6.25"], hypervisors=["rom-1.12"], exclude=["hv=*"])
    proc = run("run", m)
    assert proc.returncode == 2 and "no cells" in proc.stderr


def test_shards_merge_into_the_full_run(run, smoke, tmp_path):
    _, full_out = smoke
    shards = []
    for k in (1, 2):
        out = tmp_path / f"shard{k}"
        proc = run("run", SMOKE, "--shard", f"{k}/2", "--out", out, "-j", "2")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        shards.append(out / "report.json")
    merged = tmp_path / "all.json"
    proc = run("report", "merge", *shards, "-o", merged)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(merged.read_text())
    validate(report)
    full = json.loads((full_out / "report.json").read_text())
    assert [(c["id"], c["status"]) for c in report["cells"]] == [(c["id"], c["status"]) for c in full["cells"]]
    assert report["complete"] is True and report["summary"]["by_status"] == full["summary"]["by_status"]
    # The same shard twice is a conflict.
    proc = run("report", "merge", shards[0], shards[0], "-o", tmp_path / "dup.json")
    assert proc.returncode == 2 and "conflict" in proc.stderr


def test_interrupt_writes_a_partial_report_and_resume_finishes(pvmatrix, images, run, tmp_path):
    matrix = write_matrix(tmp_path / "m.json", kernels=["2.6.2*"], hypervisors=["rom-1.13", "rom-2.0"],
                          known_issues=[str(KNOWN)])
    out = tmp_path / "out"
    proc = subprocess.Popen([str(pvmatrix), "run", str(matrix), "--out", str(out), "-j", "1", "--images", str(images)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            env={**os.environ, "CI": "true"})
    # Wait for the first finished cell, then press Ctrl-C.
    deadline = time.time() + 120
    seen = ""
    while time.time() < deadline:
        line = proc.stdout.readline()
        seen += line
        if line.startswith("[1/"):
            break
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + stdout + stderr
    report = json.loads((out / "report.json").read_text())
    validate(report)
    assert report["complete"] is False
    done = len(report["cells"])
    assert 1 <= done < 10
    assert all(c["status"] != "ERROR" for c in report["cells"])  # the interruption is nobody's failure
    proc = run("run", matrix, "--resume", out, "-j", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    validate(report)
    assert report["complete"] is True and len(report["cells"]) == 10
    assert f"{10 - done} cells" in proc.stdout


def test_a_retry_boots_even_when_the_first_attempt_came_from_the_cache(run, tmp_path, monkeypatch):
    """Under --cache a retry must really boot: replaying the stored attempt would prove nothing."""
    m = write_matrix(tmp_path / "m.json", name="retry", kernels=["2.6.25"], hypervisors=["rom-1.12"],
                     configs=[{"name": "default", "cmdline": ""}], retries=1, timeout=20)
    monkeypatch.setenv("PVMATRIX_CACHE", str(tmp_path / "cache"))
    runs = [run("run", m, "--out", tmp_path / f"out{i}", "--cache") for i in (1, 2)]
    for proc in runs:
        assert proc.returncode == 1, proc.stdout + proc.stderr  # no known-issues file: an unexpected FAIL
    # First run: two real boots (attempt 1 stored, the retry booted). Second: the first attempt
    # from the cache, the retry booted again.
    assert "cache: 0 hits, 2 boots" in runs[0].stdout, runs[0].stdout
    assert "cache: 1 hits, 1 boots" in runs[1].stdout, runs[1].stdout
    cell = json.loads((tmp_path / "out2/report.json").read_text())["cells"][0]
    assert [a["status"] for a in cell["attempts"]] == ["FAIL", "FAIL"]
    assert (tmp_path / "out2/logs/2.6.25/rom-1.12/default.attempt2.log").exists()
