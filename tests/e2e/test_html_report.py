"""The HTML compatibility report (issue 5) in a real headless Chromium.

Renders the fixtures in tests/fixtures/reports/ with the same C++ renderer `pvmatrix report`
uses (build/html_report_render), opens them from file:// in Debian's chromium through
chromedriver (tests/browser/webdriver.py: W3C WebDriver over the standard library) and checks
what a person sees. Build dir: $PVMATRIX_BUILD (default <repo>/build). Screenshots are kept in
<build>/test-artifacts/html_report/.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("PVMATRIX_BUILD", REPO / "build"))
FIXTURES = REPO / "tests" / "fixtures" / "reports"
ARTIFACTS = BUILD / "test-artifacts" / "html_report"
sys.path.insert(0, str(REPO / "tests" / "browser"))
sys.path.insert(0, str(FIXTURES))

import make_reports  # noqa: E402
from webdriver import Browser, available  # noqa: E402

FAMOUS = "kernel=2.6.25/hv=rom-1.12/cfg=default"

pytestmark = pytest.mark.skipif(not available(), reason="chromium/chromedriver not installed (scripts/setup.sh)")


def render(report, out, baseline=None):
    tool = BUILD / "html_report_render"
    if not tool.exists():
        pytest.fail(f"{tool} is missing: build first (cmake -S . -B build && cmake --build build)")
    cmd = [str(tool), str(report), "-o", str(out)]
    if baseline:
        cmd += ["--baseline", str(baseline)]
    subprocess.run(cmd, check=True, timeout=60)
    return out


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    d = tmp_path_factory.mktemp("html")
    big = d / "synthetic-2000.json"
    big.write_text(json.dumps(make_reports.synthetic(2000)))
    return {
        "sample": render(FIXTURES / "sample-report.json", d / "sample.html"),
        "baseline": render(FIXTURES / "sample-report.json", d / "baseline.html", FIXTURES / "sample-baseline.json"),
        "xss": render(FIXTURES / "xss-report.json", d / "xss.html"),
        "gate": render(FIXTURES / "gate-report.json", d / "gate.html"),
        "big": render(big, d / "big.html"),
    }


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def open_page(b, path, hash_=""):
    b.get(path.as_uri() + hash_)
    b.wait_for("return document.documentElement.getAttribute('data-ready') === 'true'")
    b.browser_log()  # drop anything older than this page


def severe(b):
    return [e for e in b.browser_log() if e.get("level") == "SEVERE"]


def cell_sel(cell_id):
    return f'button.cell[data-id="{cell_id}"]'


def shot(b, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return b.screenshot(str(ARTIFACTS / name))


def test_page_loads_with_the_grid_and_no_console_errors(browser, pages):
    open_page(browser, pages["sample"])
    assert severe(browser) == []
    # One grid per config; the first config shows 5 releases x 6 versions.
    assert browser.execute("return document.querySelectorAll('table.grid').length") == 1
    assert len(browser.find_all("button.cell")) == 30
    assert browser.text("#match-count") == "30 of 30 cells shown"
    browser.click('button[data-config="all"]')
    assert browser.execute("return document.querySelectorAll('table.grid').length") == 3
    assert len(browser.find_all("button.cell")) == 90
    header = browser.text("#run-header")
    for needle in ("nightly-01", "QEMU emulator version", "7f3c2a1e9b0d", "4b1d0e8c2f6a", "matrix.sha256", "complete run"):
        assert needle in header
    shot(browser, "sample-all-configs.png")


def test_the_famous_cell_is_FAIL_in_text(browser, pages):
    open_page(browser, pages["sample"])
    assert browser.execute("return document.querySelector(arguments[0] + ' .st').textContent",
                           cell_sel(FAMOUS)) == "FAIL"
    text = browser.text(cell_sel(FAMOUS))
    assert "time.oneshot" in text
    # Binding in letters: every group on the ROM (2.6.25 binds all five on rom-1.12).
    assert "CIMTL" in text.replace(" ", "")
    # XFAIL shows its reason, FLAKY its attempts.
    assert "dropped the periodic" in browser.execute(
        "return document.querySelector(arguments[0]).title", cell_sel("kernel=2.6.25/hv=rom-1.1/cfg=default"))
    open_page(browser, pages["sample"], "#cfg=native-timer")
    assert "HANG→PASS" in browser.text(cell_sel("kernel=2.6.24/hv=rom-1.13/cfg=native-timer"))


def test_clicking_a_cell_opens_its_details(browser, pages):
    open_page(browser, pages["sample"])
    browser.click(cell_sel(FAMOUS))
    browser.wait_for("return !document.getElementById('details').hidden")
    assert browser.text("#details-title") == FAMOUS
    assert browser.text("#details-status") == "FAIL"
    row = browser.text('#probe-table tr[data-probe="time.oneshot"]')
    assert "fail" in row and "68 SetAlarm" in row and "SetAlarm refused one-shot (-38)" in row
    assert "timer: fail" in browser.text("#stage-timeline")
    assert "shutdown: not reached" in browser.text("#stage-timeline")
    assert "SetAlarm refused one-shot" in browser.text("#details-evidence")
    assert browser.text("#details-reproduce").startswith("/usr/bin/qemu-system-i386 ")
    # No workaround search in a nightly run: the page points at the configs that do work.
    assert "pv.native=timer → PASS (config native-timer" in browser.text("#workarounds-seen")
    assert "attempt" in browser.text("#details").lower()
    assert "cell=" in browser.execute("return location.hash")
    shot(browser, "famous-cell-details.png")
    # The hash reopens it; Escape closes it.
    open_page(browser, pages["sample"], browser.execute("return location.hash"))
    assert browser.text("#details-title") == FAMOUS
    browser.execute("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}))")
    assert browser.execute("return document.getElementById('details').hidden") is True
    assert severe(browser) == []


def test_call_names_come_from_the_call_table_by_api(browser, pages, tmp_path):
    """Probe rows name the call as pvrom/calls.h does under the cell's API: 67 is
    GetCycleCounter on API 3 and GetNsSinceInit on API 4 (the page keeps no copy of its own)."""
    cell = "kernel=2.6.21/hv=rom-1.13.1/cfg=default"  # XFAIL on call 67, API 3.3
    open_page(browser, pages["sample"], "#cell=" + cell)
    browser.wait_for("return !document.getElementById('details').hidden")
    assert "67 GetCycleCounter" in browser.text('#probe-table tr[data-probe="time.counter_monotonic"]')
    report = json.loads((FIXTURES / "sample-report.json").read_text())
    for c in report["cells"]:
        if c["id"] == cell:
            c["hv_api"] = "4.0"
            c["probes"].append({"id": "x.cpuid", "status": "fail", "call": 0, "detail": "d"})
            c["probes"].append({"id": "x.safe_halt", "status": "fail", "call": 74, "detail": "d"})
    (tmp_path / "api4.json").write_text(json.dumps(report))
    open_page(browser, render(tmp_path / "api4.json", tmp_path / "api4.html"), "#cell=" + cell)
    browser.wait_for("return !document.getElementById('details').hidden")
    assert "67 GetNsSinceInit" in browser.text('#probe-table tr[data-probe="time.counter_monotonic"]')
    assert "0 Cpuid" in browser.text('#probe-table tr[data-probe="x.cpuid"]')
    assert "74 SafeHalt" in browser.text('#probe-table tr[data-probe="x.safe_halt"]')
    assert severe(browser) == []


def test_filters_and_the_url_hash(browser, pages):
    open_page(browser, pages["sample"])
    browser.click('#status-counts button[data-status="FAIL"]')
    assert [browser.execute("return document.querySelector(arguments[0]).dataset.id", "button.cell")] == [FAMOUS]
    assert len(browser.find_all("button.cell")) == 1
    assert "status=FAIL" in browser.execute("return location.hash")
    # A status checkbox added back shows those cells too.
    browser.click('#status-filter input[value="XFAIL"]')
    statuses = browser.execute("return [...document.querySelectorAll('button.cell')].map(b => b.dataset.status)")
    assert sorted(statuses) == ["FAIL", "XFAIL", "XFAIL", "XFAIL"]
    # The hash alone restores a filter: every config, kernel 2.6.25, text search.
    open_page(browser, pages["sample"], "#cfg=all&kernel=2.6.25&q=rom-1.1")
    ids = browser.execute("return [...document.querySelectorAll('button.cell')].map(b => b.dataset.id)")
    assert sorted(ids) == sorted(f"kernel=2.6.25/hv={hv}/cfg={c}" for hv in ("rom-1.1", "rom-1.12", "rom-1.13", "rom-1.13.1")
                                 for c in ("default", "native-timer", "native-all"))
    assert browser.execute("return document.getElementById('kernel-filter').value") == "2.6.25"
    # Typing in the search box filters (debounced) and lands in the hash.
    open_page(browser, pages["sample"], "#cfg=all")
    browser.type("#search", "hv=rom-2.0/cfg=native-all")
    browser.wait_for("return document.querySelectorAll('button.cell').length === 5")
    browser.wait_for("return location.hash.indexOf('q=') >= 0")
    browser.click("#reset-filters")
    assert len(browser.find_all("button.cell")) == 90


def test_compatibility_web(browser, pages):
    open_page(browser, pages["sample"])
    edges = browser.execute("return [...document.querySelectorAll('#compat-web path.edge')].map("
                            "e => [e.dataset.id, e.dataset.status, e.getAttribute('stroke-dasharray')])")
    assert len(edges) == 30
    famous = next(e for e in edges if e[0] == FAMOUS)
    assert famous[1] == "FAIL" and famous[2]  # broken edges are dashed, not only red
    row = browser.text('#kernel-web tr[data-kernel="2.6.25"]')
    assert "rom-1.12 (FAIL)" in row and "rom-1.13" in row
    assert "oneshot_alarm" in row  # what 2.6.25's timer group depends on
    assert "rom-1.12 lacks oneshot_alarm" in row
    hv_row = browser.text('#hv-web tr[data-hv="rom-1.12"]')
    assert "2.6.24" in hv_row and "2.6.25 (FAIL)" in hv_row
    browser.execute("document.querySelector(arguments[0]).dispatchEvent(new MouseEvent('click', {bubbles: true}))",
                    f'#compat-web path.edge[data-id="{FAMOUS}"]')
    assert browser.text("#details-title") == FAMOUS


def test_xss_corpus_runs_nothing_and_shows_the_characters(browser, pages):
    html = pages["xss"].read_text(encoding="utf-8")
    data = re.search(r'<script type="application/json" id="pvm-data">(.*?)</script>', html, re.S).group(1)
    assert "<" not in data and ">" not in data and "\u2028" not in data
    open_page(browser, pages["xss"])
    bad = "kernel=2.6.24/hv=rom-1.13/cfg=default"
    browser.click(cell_sel(bad))
    browser.wait_for("return !document.getElementById('details').hidden")
    assert browser.execute("return window.__pvm_dialogs") == []
    assert browser.execute("return window.__pwned === undefined") is True
    assert browser.alert_text() is None
    assert browser.execute("return document.images.length") == 0
    assert browser.execute("return document.querySelectorAll('script').length") == 2
    assert browser.execute("return document.querySelectorAll('a[href^=\"javascript\"], [onerror], [onload]').length") == 0
    evidence = browser.execute("return document.getElementById('details-evidence').textContent")
    for payload in make_reports.XSS:
        assert payload in evidence
    details = browser.execute("return document.getElementById('details').textContent")
    assert "</script><script>window.__pwned" in details
    assert "<img src=x onerror=" in details
    assert "javascript:alert(1)" in details  # the log path, as text and not as a link
    assert "<img src=x onerror=alert(1)>nightly" in browser.text("#run-header")
    assert "{{js}} {{data}}" in evidence
    assert severe(browser) == []
    shot(browser, "xss-details.png")


def test_file_url_with_the_network_off(browser, pages):
    html = pages["sample"].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    browser.cdp("Network.enable")
    browser.cdp("Network.emulateNetworkConditions",
                {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    try:
        open_page(browser, pages["baseline"])
        assert len(browser.find_all("button.cell")) == 30
        assert browser.execute("return performance.getEntriesByType('resource').length") == 0
        assert severe(browser) == []
    finally:
        browser.cdp("Network.emulateNetworkConditions",
                    {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


def test_a_baseline_shows_REGRESSION_and_FIXED(browser, pages):
    open_page(browser, pages["baseline"])
    famous = browser.text(cell_sel(FAMOUS))
    assert "REGRESSION" in famous and "FAIL" in famous
    assert "FIXED" in browser.text(cell_sel("kernel=2.6.24/hv=rom-2.0/cfg=default"))
    assert "BINDING_CHANGED" in browser.text(cell_sel("kernel=2.6.22/hv=rom-1.12/cfg=default"))
    assert FAMOUS in browser.text("#regression-list")
    assert "1 REGRESSION" in browser.text("#regression-list")
    # A cell that still passes but stopped using the hypervisor fails the gate too, by name.
    lost = "kernel=2.6.20/hv=rom-2.0/cfg=default"
    assert "BINDING_LOST" in browser.text(cell_sel(lost))
    assert "1 BINDING_LOST" in browser.text("#regression-list")
    item = browser.text('#regression-list li[data-verdict="BINDING_LOST"]')
    assert lost in item and "timer native" in item and "timer: rom -> native" in item, item
    browser.click('#verdict-counts button[data-verdict="REGRESSION"]')
    assert len(browser.find_all("button.cell")) == 1
    browser.click(cell_sel(FAMOUS))
    assert browser.text("#details-verdict") == "REGRESSION"
    assert "was PASS" in browser.text("#details") or "baseline: PASS" in browser.text("#details")
    shot(browser, "baseline-regression.png")
    # The infrastructure failure is an ERROR verdict, never a regression.
    open_page(browser, pages["baseline"], "#cfg=native-all")
    assert "ERROR" in browser.text(cell_sel("kernel=2.6.22/hv=rom-1.0/cfg=native-all"))
    assert "REGRESSION" not in browser.text(cell_sel("kernel=2.6.22/hv=rom-1.0/cfg=native-all"))


def test_2000_cells_open_and_filter(browser, pages):
    # Speed is measured in bench/html_first_paint.py; here: it opens, shows, filters, searches.
    open_page(browser, pages["big"], "#cfg=all")
    assert browser.execute("return document.querySelectorAll('button.cell').length") == 2000
    browser.click('#status-counts button[data-status="CRASH"]')
    statuses = set(browser.execute("return [...document.querySelectorAll('button.cell')].map(b => b.dataset.status)"))
    assert statuses == {"CRASH"}
    browser.click("#reset-filters")
    browser.type("#search", "cfg=native-mmu")
    browser.wait_for("return document.querySelectorAll('button.cell').length === 400")
    assert severe(browser) == []


def test_a_gate_report_shows_its_own_verdicts_and_workaround_masks(browser, pages):
    open_page(browser, pages["gate"])
    assert "REGRESSION" in browser.text(cell_sel(FAMOUS))
    browser.click(cell_sel(FAMOUS))
    table = browser.text("#workaround-table")
    assert "pv.native=timer PASS" in table and "pv.native=mmu FAIL" in table
    assert "works around with pv.native=timer" in browser.text("#details-verdict-line")
    assert severe(browser) == []


def test_pvmatrix_report_renders_html(browser, tmp_path):
    binary = BUILD / "pvmatrix"
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build first")
    out = tmp_path / "report.html"
    r = subprocess.run([str(binary), "report", str(FIXTURES / "sample-report.json"), "--baseline",
                        str(FIXTURES / "sample-baseline.json"), "-o", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    open_page(browser, out)
    assert "REGRESSION" in browser.text(cell_sel(FAMOUS))
    assert len(browser.find_all("button.cell")) == 30
    # Bad input is a usage error naming the file, never a half-written page.
    r = subprocess.run([str(binary), "report", str(FIXTURES / "make_reports.py"), "-o", str(tmp_path / "x.html")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "make_reports.py" in r.stderr
    assert not (tmp_path / "x.html").exists()


def test_prediction_findings_are_listed_and_open_their_cell(browser, tmp_path):
    report = json.loads((FIXTURES / "sample-report.json").read_text())
    for c in report["cells"]:
        if c["id"] == FAMOUS:
            c["predicted"] = {"status": "PASS", "binding": c["binding"], "reason": "doctored for the test"}
    report["findings"] = [{"id": FAMOUS, "kind": "status", "predicted": "PASS", "observed": "FAIL",
                           "detail": "<img src=x onerror=alert(1)>"}]
    src = tmp_path / "findings.json"
    src.write_text(json.dumps(report))
    open_page(browser, render(src, tmp_path / "findings.html"))
    text = browser.text("#findings")
    assert "1 finding" in text and "predicted PASS, observed FAIL" in text
    assert "<img src=x onerror=alert(1)>" in text  # guest-derived text stays text
    assert browser.execute("return document.querySelectorAll('#findings img').length") == 0
    browser.click("#findings button.linkish")
    browser.wait_for("return !document.getElementById('details').hidden")
    assert browser.text("#details-title") == FAMOUS
    assert "predicted" in browser.text("#details") and "PASS" in browser.text("#details")
    assert severe(browser) == []


def test_xen_bindings_show_as_bound_beside_the_rom_columns(browser, tmp_path):
    """A xen column sits in the same grid; groups bound to Xen read as bound (UPPERCASE,
    underlined), not as native, and the title names them."""
    report = json.loads((FIXTURES / "sample-report.json").read_text())
    src = next(c for c in report["cells"] if c["id"] == "kernel=2.6.25/hv=rom-1.13/cfg=default")
    xen = json.loads(json.dumps(src))
    xen.update(hv="xen-4.17.7", id="kernel=2.6.25/hv=xen-4.17.7/cfg=default", status="PASS", outcome="PASS",
               hv_api="4.17", hv_features=[],
               binding={"cpu": "xen", "irq": "xen", "mmu": "native", "timer": "xen", "lazy": "native"})
    refused = json.loads(json.dumps(xen))  # a kernel Xen refused: it never ran, so no binding
    refused.update(kernel="2.6.20", id="kernel=2.6.20/hv=xen-4.17.7/cfg=default", status="CRASH", outcome="CRASH",
                   hv_api="", binding={}, probes=[], stages=[], reason="Xen panic: Could not construct domain 0")
    report["cells"] += [xen, refused]
    report["axes"]["hypervisors"].append("xen-4.17.7")
    report["summary"]["total"] += 2
    report["summary"]["by_status"]["CRASH"] = report["summary"]["by_status"].get("CRASH", 0) + 1
    report["summary"]["by_status"]["PASS"] = report["summary"]["by_status"].get("PASS", 0) + 1
    src_json = tmp_path / "with-xen.json"
    src_json.write_text(json.dumps(report))
    page = render(src_json, tmp_path / "with-xen.html")
    open_page(browser, page)
    sel = cell_sel(xen["id"])
    assert "CImTl" in browser.text(sel).replace(" ", "")
    assert browser.execute("return document.querySelectorAll(arguments[0] + ' .b-xen').length", sel) == 3
    assert "binding: cpu:xen irq:xen mmu:native timer:xen lazy:native" in browser.execute(
        "return document.querySelector(arguments[0]).title", sel)
    # Unknown, not "all native" (lowercase letters would claim the kernel ran and bound nothing).
    assert browser.text(cell_sel(refused["id"]) + " .bind") == "—"
    assert "binding: binding unknown" in browser.execute("return document.querySelector(arguments[0]).title",
                                                         cell_sel(refused["id"]))
    assert not severe(browser)


def test_the_header_says_how_starved_the_host_was(browser, tmp_path):
    """Host pressure (issue 15): summary.host reaches the header; a starved host is marked."""
    report = json.loads((FIXTURES / "sample-report.json").read_text())
    report["summary"]["host"] = {"attempts": 30, "wall_ms": 40000, "qemu_cpu_ms": 9000, "starved_ms": 30000,
                                 "starved_fraction": 0.75}
    src = tmp_path / "starved.json"
    src.write_text(json.dumps(report))
    open_page(browser, render(src, tmp_path / "starved.html"))
    text = browser.text("#host-pressure")
    assert "QEMU got 9.0 s of CPU in 40.0 s of boots; 75% of that waiting for a CPU" in text, text
    assert "starved host" in text
    assert "starved" in browser.execute("return document.getElementById('host-pressure').className")
    assert not severe(browser)
