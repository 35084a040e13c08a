"""The history store end to end (issue 17): `pvmatrix run` records each run and puts history
words on its cells; `pvmatrix history` lists runs and a cell's timeline; `history import` is
idempotent; `diff --baseline history`; the bad-input cases (a newer schema, a corrupt SQLite
file, an unreachable PostgreSQL server); the same against a real PostgreSQL server, started here
as a throwaway cluster (initdb + pg_ctl on a temporary directory, a Unix socket) and stopped
whatever happens; the per-cell strip in report.html and the history page, in headless Chromium.

Boots stay few: `matrix/smoke.json` restricted to 2.6.25 on rom-1.12 (one XFAIL, one PASS).
"""
import glob
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from conftest import loaded_libraries

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("PVMATRIX_BUILD", REPO / "build"))
SCHEMA = json.loads((REPO / "reports/schema/report.schema.json").read_text())
SMOKE = REPO / "matrix/smoke.json"
ONLY = "kernel=2.6.25/hv=rom-1.12"
FAMOUS = "kernel=2.6.25/hv=rom-1.12/cfg=default"        # XFAIL: a known issue
WORKAROUND = "kernel=2.6.25/hv=rom-1.12/cfg=native-timer"  # PASS

sys.path.insert(0, str(REPO / "tests" / "browser"))
from webdriver import Browser, available  # noqa: E402


@pytest.fixture(scope="session")
def pv(pvmatrix, images):
    """pv(*args) -> CompletedProcess of `pvmatrix ARGS` (run gets --images); no $PVMATRIX_HISTORY."""

    def go(*args, timeout=300, env=None):
        argv = [str(pvmatrix), *map(str, args)]
        if args and args[0] == "run":
            argv += ["--images", str(images)]
        e = {k: v for k, v in os.environ.items() if k != "PVMATRIX_HISTORY"}
        e["CI"] = "true"
        e.update(env or {})
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=e)

    return go


def smoke_run(pv, out, *extra):
    return pv("run", SMOKE, "--only", ONLY, "--out", out, "-j", "2", *extra)


def report_of(out):
    return json.loads((Path(out) / "report.json").read_text())


def cells_by_id(report):
    return {c["id"]: c for c in report["cells"]}


def validate(report):
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)


def later_copy(report, path, seconds, dirty=None, **statuses):
    """A copy of `report` as if run `seconds` later (another run), some cells' statuses changed."""
    r = json.loads(json.dumps(report))
    r["meta"]["started_at_ms"] += seconds * 1000
    if dirty is not None:
        r["meta"]["git"]["dirty"] = dirty
    r["meta"].pop("history", None)
    for c in r["cells"]:
        c.pop("history", None)
        for cell_id, status in statuses.items():
            if c["id"] == cell_id:
                c["status"] = status
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(r))
    return path


def store_runs(store):
    with sqlite3.connect(store) as db:
        return db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


# ---------------------------------------------------------------------------------------------
# SQLite (the default store)


@pytest.fixture(scope="module")
def two_runs(pv, tmp_path_factory):
    """Two real runs into one store (the default: history.sqlite beside the output directories)."""
    base = tmp_path_factory.mktemp("hist")
    procs = [smoke_run(pv, base / "first"), smoke_run(pv, base / "second")]
    return base, procs


def test_a_run_records_itself_and_its_cells_carry_history_words(two_runs):
    base, procs = two_runs
    for p in procs:
        assert p.returncode == 0, p.stderr
        assert "history: run" in p.stdout, p.stdout
    store = base / "history.sqlite"
    assert store.exists()
    assert store_runs(store) == 2
    first, second = report_of(base / "first"), report_of(base / "second")
    validate(first)
    validate(second)
    run1, run2 = first["meta"]["history"]["run"], second["meta"]["history"]["run"]
    assert run2 > run1
    assert second["meta"]["history"]["recorded"] is True
    famous, ok = cells_by_id(second)[FAMOUS], cells_by_id(second)[WORKAROUND]
    assert famous["status"] == "XFAIL" and ok["status"] == "PASS"
    assert famous["history"]["kind"] == "never_passed"
    assert famous["history"]["text"] == f"never passed (failed in all 2 runs since run {run1})"
    assert ok["history"]["kind"] == "passing" and ok["history"]["passing_for"] == 2
    assert ok["history"]["strip"] == f"{run1}:PASS {run2}:PASS"
    assert famous["history"]["strip"] == f"{run1}:XFAIL {run2}:XFAIL"


def test_summary_and_junit_carry_the_history_words(two_runs):
    base, _ = two_runs
    summary = (base / "second" / "summary.md").read_text()
    assert "## History (run" in summary
    assert f"`{FAMOUS}` XFAIL: never passed (failed in all 2 runs" in summary
    cases = ET.parse(base / "second" / "junit.xml").getroot().iter("testcase")
    props = {}
    for case in cases:
        p = {x.get("name"): x.get("value") for x in case.iter("property")}
        props[p["id"]] = p
    assert props[FAMOUS]["history_kind"] == "never_passed"
    assert props[WORKAROUND]["history"] == "passing for 2 runs"


def test_history_lists_runs_and_shows_a_cell_timeline(pv, two_runs):
    base, _ = two_runs
    store = base / "history.sqlite"
    listing = pv("history", "--history", store)
    assert listing.returncode == 0, listing.stderr
    assert "2 runs" in listing.stdout and "smoke" in listing.stdout
    j = json.loads(pv("history", "--history", store, "--json").stdout)
    assert [r["matrix"] for r in j["runs"]] == ["smoke", "smoke"]
    assert j["runs"][0]["run"] > j["runs"][1]["run"]  # newest first
    assert j["runs"][0]["total"] == 2 and j["runs"][0]["by_status"] == {"PASS": 1, "XFAIL": 1}
    timeline = pv("history", FAMOUS, "--history", store)
    assert timeline.returncode == 0, timeline.stderr
    assert timeline.stdout.startswith(f"{FAMOUS} (matrix smoke): never passed")
    assert timeline.stdout.count(" XFAIL ") == 2
    tj = json.loads(pv("history", "hv=rom-1.12", "--history", store, "--json").stdout)
    assert {c["id"] for c in tj["cells"]} == {FAMOUS, WORKAROUND}
    nothing = pv("history", "hv=rom-9", "--history", store)
    assert nothing.returncode == 2 and "no cell" in nothing.stderr
    bad = pv("history", "kernel", "--history", store)
    assert bad.returncode == 2 and "CELL-PATTERN" in bad.stderr


def test_imported_history_gives_regressed_failing_and_fixed_words(pv, two_runs, tmp_path):
    base, _ = two_runs
    store = tmp_path / "h.sqlite"
    second = report_of(base / "second")
    files = [later_copy(second, tmp_path / "r1.json", 0),
             later_copy(second, tmp_path / "r2.json", 10, **{WORKAROUND: "FAIL"}),
             later_copy(second, tmp_path / "r3.json", 20, **{WORKAROUND: "CRASH"})]
    imp = pv("history", "import", *files, "--history", store)
    assert imp.returncode == 0, imp.stderr
    assert "3 new runs" in imp.stdout
    runs = [r["run"] for r in json.loads(pv("history", "--history", store, "--json").stdout)["runs"]][::-1]
    tj = json.loads(pv("history", WORKAROUND, "--history", store, "--json").stdout)
    words = tj["cells"][0]["history"]
    assert words["kind"] == "failing"
    assert words["text"] == f"failing for 2 runs: first failed in run {runs[1]} (last passed in run {runs[0]})"
    imp = pv("history", "import", later_copy(second, tmp_path / "r4.json", 30), "--history", store)
    words = json.loads(pv("history", WORKAROUND, "--history", store, "--json").stdout)["cells"][0]["history"]
    assert words["kind"] == "fixed" and words["fixed_since_run"] == runs[-1] + 1


def test_import_is_idempotent_and_takes_shards(pv, tmp_path):
    for k in (1, 2):
        p = smoke_run(pv, tmp_path / f"shard{k}", "--shard", f"{k}/2", "--history", "none")
        assert p.returncode == 0, p.stderr
        assert "history" not in report_of(tmp_path / f"shard{k}")["meta"]
    store = tmp_path / "imported.sqlite"
    files = [tmp_path / "shard1/report.json", tmp_path / "shard2/report.json"]
    first = pv("history", "import", *files, "--history", store)
    assert first.returncode == 0, first.stderr
    assert "2 new runs" in first.stdout
    again = pv("history", "import", *files, "--history", store)
    assert again.returncode == 0, again.stderr
    assert "0 new runs" in again.stdout and again.stdout.count("already recorded as run") == 2
    assert store_runs(store) == 2
    j = json.loads(pv("history", "--history", store, "--json").stdout)
    assert sorted(r["shard"] for r in j["runs"]) == ["1/2", "2/2"]
    assert sum(r["total"] for r in j["runs"]) == 2
    notreport = tmp_path / "x.json"
    notreport.write_text('{"cells": 3}')
    bad = pv("history", "import", notreport, "--history", store)
    assert bad.returncode == 2 and "x.json" in bad.stderr
    assert store_runs(store) == 2


def test_two_concurrent_runs_both_record(pv, pvmatrix, images, tmp_path):
    store = tmp_path / "shared.sqlite"
    procs = [subprocess.Popen([str(pvmatrix), "run", str(SMOKE), "--only", ONLY, "--shard", f"{k}/2", "--out",
                               str(tmp_path / f"s{k}"), "--history", str(store), "--images", str(images), "-j", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in (1, 2)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert store_runs(store) == 2
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 2
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_diff_against_the_history_baseline(pv, two_runs, tmp_path):
    base, _ = two_runs
    second = report_of(base / "second")
    store = tmp_path / "h.sqlite"
    old = later_copy(second, tmp_path / "old.json", -60, dirty=False)
    wip = later_copy(second, tmp_path / "wip.json", -30, dirty=True, **{WORKAROUND: "FAIL"})
    assert pv("history", "import", old, wip, "--history", store).returncode == 0
    old_run = json.loads(pv("history", "--history", store, "--json").stdout)["runs"][1]["run"]
    head = later_copy(second, tmp_path / "head" / "report.json", 0, dirty=False)
    same = pv("diff", "--baseline", "history", head, "--history", store)
    assert same.returncode == 0, same.stderr
    assert f"history run {old_run} " in same.stdout  # not the dirty run after it
    head = later_copy(second, tmp_path / "head" / "report.json", 0, dirty=False, **{WORKAROUND: "FAIL"})
    verdicts = tmp_path / "verdicts.json"
    regressed = pv("diff", "--baseline", "history", head, "--history", store, "--json", verdicts)
    assert regressed.returncode == 1, regressed.stdout + regressed.stderr
    v = {x["id"]: x["verdict"] for x in json.loads(verdicts.read_text())["verdicts"]}
    assert v[WORKAROUND] == "REGRESSION"
    rev = second["meta"]["git"]["revision"]
    if rev:
        on_rev = pv("diff", "--baseline", "history", head, "--history", store, "--base-rev", rev[:8])
        assert on_rev.returncode == 1
    none = pv("diff", "--baseline", "history", head, "--history", store, "--base-rev", "0000000")
    assert none.returncode == 2 and "no complete run of matrix smoke on revision 0000000" in none.stderr
    both = pv("diff", "--baseline", "history", head, head)
    assert both.returncode == 2
    # Beside a run's own output directory, the store it recorded in is the default.
    own = pv("diff", "--baseline", "history", base / "second" / "report.json")
    assert own.returncode in (0, 2), own.stderr  # 2 only when every run there came from a dirty work tree
    assert ("history run" in own.stdout) or ("no complete run of matrix smoke" in own.stderr)


# ---------------------------------------------------------------------------------------------
# Bad input


def test_a_newer_schema_stops_the_run_and_nothing_is_written(pv, tmp_path):
    store = tmp_path / "h.sqlite"
    ok = smoke_run(pv, tmp_path / "a", "--history", store)
    assert ok.returncode == 0, ok.stderr
    with sqlite3.connect(store) as db:
        (ours,) = db.execute("SELECT MAX(version) FROM pvmatrix_schema").fetchone()
        db.execute("INSERT INTO pvmatrix_schema (version) VALUES (99)")
    with sqlite3.connect(store) as db:  # our own write out of the WAL, so the bytes compare
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = store.read_bytes()
    p = smoke_run(pv, tmp_path / "b", "--history", store)
    assert p.returncode == 2
    assert "schema version 99" in p.stderr and f"(version {ours})" in p.stderr, p.stderr
    assert not (tmp_path / "b").exists()
    assert store.read_bytes() == before
    listing = pv("history", "--history", store)
    assert listing.returncode == 2 and "schema version 99" in listing.stderr


def test_a_corrupt_sqlite_store_exits_2_with_the_reason_and_the_reports_are_written(pv, tmp_path):
    store = tmp_path / "h.sqlite"
    store.write_bytes(b"this is not a database\n" * 400)
    p = smoke_run(pv, tmp_path / "out", "--history", store)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "file is not a database" in p.stderr, p.stderr
    for name in ("report.json", "report.html", "junit.xml", "summary.md"):
        assert (tmp_path / "out" / name).exists(), name
    report = report_of(tmp_path / "out")
    validate(report)
    assert report["meta"]["history"]["recorded"] is False
    assert "file is not a database" in report["meta"]["history"]["error"]
    assert all("history" not in c for c in report["cells"])
    assert "Not recorded" in (tmp_path / "out" / "summary.md").read_text()


def test_an_unreachable_postgres_leaves_the_run_and_its_exit_status_alone(pv, tmp_path):
    uri = f"postgresql:///pvmatrix?host={tmp_path}/no-server-here&connect_timeout=2"
    p = smoke_run(pv, tmp_path / "out", "--history", uri)
    assert p.returncode == 0, p.stderr
    assert "history not recorded" in p.stderr and "history import" in p.stderr, p.stderr
    report = report_of(tmp_path / "out")
    validate(report)
    assert report["meta"]["history"]["recorded"] is False
    # ... and it can be imported later.
    imp = pv("history", "import", tmp_path / "out" / "report.json", "--history", tmp_path / "later.sqlite")
    assert imp.returncode == 0 and "1 new run" in imp.stdout


# ---------------------------------------------------------------------------------------------
# PostgreSQL: a throwaway cluster


def _pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of our own on a Unix socket in a temporary directory; its URI."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed: scripts/setup.sh installs the postgresql package")
    root = Path(tempfile.mkdtemp(prefix="pvm-pg-"))
    as_user = []
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres user
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, sock = root / "data", root / "sock"

    def pg(*args, check=True):
        return subprocess.run(as_user + [str(bindir / args[0]), *map(str, args[1:])], capture_output=True, text=True,
                              timeout=120, check=check, stdin=subprocess.DEVNULL)

    try:
        pg("initdb", "-D", data, "--auth=trust", "-U", "postgres", "--no-sync")
        subprocess.run(as_user + ["mkdir", str(sock)], check=True)
        pg("pg_ctl", "-D", data, "-l", root / "server.log", "-w", "-t", "60",
           "-o", f"-k {sock} -c listen_addresses='' -c fsync=off", "start")
        pg("createdb", "-h", sock, "-U", "postgres", "pvmatrix")
        yield f"postgresql:///pvmatrix?host={sock}&user=postgres"
    finally:
        pg("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


def test_the_store_unit_tests_pass_against_postgresql(postgres):
    unit = BUILD / "unit_tests"
    p = subprocess.run([str(unit), "--gtest_filter=Backends/HistoryStoreTest.*/postgresql"], capture_output=True,
                       text=True, timeout=300, env={**os.environ, "PVMATRIX_TEST_POSTGRES": postgres})
    assert p.returncode == 0, p.stdout[-4000:]
    assert "SKIPPED" not in p.stdout, p.stdout[-4000:]
    cases = len(re.findall(r"^TEST_P\(HistoryStoreTest,", (REPO / "tests/unit/history_store_test.cpp").read_text(), re.M))
    assert cases >= 8
    assert f"[  PASSED  ] {cases} tests" in p.stdout, p.stdout[-2000:]


def test_only_a_postgresql_store_loads_libpq(pv, pvmatrix, postgres, tmp_path):
    # libpqxx and libpq are the pvmatrix-postgresql module: the CLI is not linked against them,
    # a command on an SQLite store never loads them, one on a PostgreSQL store does.
    needed = subprocess.run(["ldd", str(pvmatrix)], capture_output=True, text=True, check=True).stdout
    assert "libpq" not in needed
    run = smoke_run(pv, tmp_path / "out", "--history", tmp_path / "h.sqlite")
    assert run.returncode == 0, run.stderr
    lite, loaded = loaded_libraries(pvmatrix, tmp_path / "lite", "history", "--history", tmp_path / "h.sqlite")
    assert lite.returncode == 0, lite.stderr
    assert not any(n.startswith("libpq") for n in loaded) and "pvmatrix-postgresql.so" not in loaded, sorted(loaded)
    pg, loaded = loaded_libraries(pvmatrix, tmp_path / "pg", "history", "--history", postgres)
    assert pg.returncode == 0, pg.stderr
    assert "pvmatrix-postgresql.so" in loaded and any(n.startswith("libpq") for n in loaded), sorted(loaded)
    # Without the module, a PostgreSQL store is a clear error naming it.
    gone = subprocess.run([str(pvmatrix), "history", "--history", postgres], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, env={**os.environ, "PVMATRIX_MODULE_DIR": str(tmp_path)})
    assert gone.returncode == 2, gone
    assert f"{tmp_path}/pvmatrix-postgresql.so" in gone.stderr, gone.stderr


def test_runs_import_history_and_diff_on_postgresql(pv, postgres, tmp_path):
    for name in ("one", "two"):
        p = smoke_run(pv, tmp_path / name, "--history", postgres)
        assert p.returncode == 0, p.stderr
        assert "history: run" in p.stdout
    two = report_of(tmp_path / "two")
    assert two["meta"]["history"]["recorded"] is True
    assert "pvmatrix" in two["meta"]["history"]["store"]
    famous = cells_by_id(two)[FAMOUS]["history"]
    assert famous["kind"] == "never_passed" and famous["runs"] >= 2
    j = json.loads(pv("history", "--history", postgres, "--json").stdout)
    assert len(j["runs"]) >= 2 and j["runs"][0]["run"] == two["meta"]["history"]["run"]
    again = pv("history", "import", tmp_path / "one" / "report.json", tmp_path / "two" / "report.json", "--history", postgres)
    assert again.returncode == 0 and "0 new runs" in again.stdout, again.stdout + again.stderr
    clean = later_copy(two, tmp_path / "clean.json", 50, dirty=False)  # a run of a clean tree, the latest
    imp = pv("history", "import", clean, "--history", postgres)
    assert imp.returncode == 0 and "1 new run" in imp.stdout, imp.stdout + imp.stderr
    clean_run = int(imp.stdout.split("recorded as run ")[1].split()[0])
    head = later_copy(two, tmp_path / "head.json", 100, dirty=False, **{WORKAROUND: "FAIL"})
    d = pv("diff", "--baseline", "history", head, "--history", postgres)
    assert d.returncode == 1, d.stdout + d.stderr
    assert f"history run {clean_run} " in d.stdout and "REGRESSION" in d.stdout


# ---------------------------------------------------------------------------------------------
# HTML: the per-cell strip and the history page, in headless Chromium

browser_only = pytest.mark.skipif(not available(), reason="chromium/chromedriver not installed (scripts/setup.sh)")


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


@browser_only
def test_the_report_shows_each_cells_strip_and_words(browser, two_runs):
    base, _ = two_runs
    browser.get((base / "second" / "report.html").as_uri())
    browser.wait_for("return document.documentElement.getAttribute('data-ready') === 'true'")
    browser.click('button[data-config="all"]')
    sel = f'button.cell[data-id="{WORKAROUND}"] .hstrip i'
    assert browser.execute(f"return document.querySelectorAll('{sel}').length") == 2
    assert browser.execute(f"return document.querySelector('{sel}').getAttribute('data-status')") == "PASS"
    browser.click(f'button.cell[data-id="{FAMOUS}"]')
    assert browser.text("#details-history-text").startswith("never passed (failed in all 2 runs")
    assert browser.execute("return document.querySelectorAll('#details-history-strip i').length") == 2
    assert [e for e in browser.browser_log() if e.get("level") == "SEVERE"] == []


@browser_only
def test_the_history_page_shows_the_matrix_over_time_and_the_changes(browser, pv, two_runs, tmp_path):
    base, _ = two_runs
    store = tmp_path / "h.sqlite"
    second = report_of(base / "second")
    files = [later_copy(second, tmp_path / "r1.json", 0),
             later_copy(second, tmp_path / "r2.json", 10, **{WORKAROUND: "FAIL"})]
    assert pv("history", "import", *files, "--history", store).returncode == 0
    page = tmp_path / "history.html"
    p = pv("history", "--html", page, "--history", store, "--matrix", "smoke")
    assert p.returncode == 0, p.stderr
    html = page.read_text()
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")  # self-contained
    browser.get(page.as_uri())
    rows = browser.execute("return Array.from(document.querySelectorAll('#grid tr[data-cell]')).map("
                           "r => [r.getAttribute('data-cell'), r.getAttribute('data-kind'), r.querySelectorAll('td.s').length])")
    assert sorted(rows) == sorted([[FAMOUS, "never_passed", 2], [WORKAROUND, "regressed", 2]])
    changes = browser.text("#changes")
    assert WORKAROUND in changes and "PASS → FAIL (stopped working)" in changes
    assert FAMOUS not in changes  # it never changed
