"""Prediction against observation: `pvmatrix predict matrix/nightly.json` (no boot) agrees with
every boot of the nightly matrix's reference kernels (`pvmatrix run --only kernel=2.6.*`, run once
for the module; the real kernels' cells are tests/e2e/test_real.py's), cell by cell; the run
records the prediction on each cell and lists no finding. Plus `pvmatrix abi diff` / `abi show`
from the command line (exit bitmask, JSON, the HTML page).
"""
import json
import subprocess

import pytest

from conftest import REPO

NIGHTLY = REPO / "matrix" / "nightly.json"


def cli(pvmatrix, images, *args, timeout=60):
    return subprocess.run([str(pvmatrix), *map(str, args), "--images", str(images)], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def predicted(pvmatrix, images):
    proc = cli(pvmatrix, images, "predict", NIGHTLY, "--json")
    assert proc.returncode == 0, proc.stderr
    return {c["id"]: c["predicted"] for c in json.loads(proc.stdout)["cells"]}


@pytest.fixture(scope="module")
def nightly(pvmatrix, images, tmp_path_factory):
    """One real run of the nightly matrix's reference cells (150 boots, 45 of them on Xen: minutes)."""
    out = tmp_path_factory.mktemp("nightly")
    proc = subprocess.run([str(pvmatrix), "run", str(NIGHTLY), "--only", "kernel=2.6.*", "--out", str(out),
                           "--images", str(images)],
                          capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["complete"], "the nightly run did not finish"
    return out, report


def test_predict_covers_every_cell_of_the_nightly(pvmatrix, images, predicted):
    listed = cli(pvmatrix, images, "list", NIGHTLY).stdout.split()
    assert sorted(listed) == sorted(predicted)
    # Every rom-family cell (5 releases x 6 versions x 3 configs) is predicted, and every xen
    # cell from the manifest's xen= key: the releases without the Xen backend CRASH (Xen refuses
    # them, no binding), the others PASS. On bare QEMU no ROM: every release PASS, all native.
    rom = {cid: p for cid, p in predicted.items() if "/hv=rom-" in cid and cid.startswith("kernel=2.6.")}
    assert len(rom) == 90
    assert all(p["status"] in ("PASS", "FAIL") for p in rom.values())
    bare = {cid: p for cid, p in predicted.items() if "/hv=qemu/" in cid and cid.startswith("kernel=2.6.")}
    assert len(bare) == 15
    assert all(p["status"] == "PASS" and set(p["binding"].values()) == {"native"} for p in bare.values()), bare
    # The ROM selftest has no manifest to predict from: it says so, and is never a finding.
    selftest = {cid: p for cid, p in predicted.items() if cid.startswith("kernel=romselftest/")}
    assert len(selftest) == 6
    assert all(p["status"] is None and p["reason"].startswith("no prediction") for p in selftest.values()), selftest
    xen = {cid: p for cid, p in predicted.items() if "/hv=xen-" in cid and cid.startswith("kernel=2.6.")}
    assert len(xen) == 45
    for cid, p in xen.items():
        old = any(f"kernel={k}/" in cid for k in ("2.6.20", "2.6.21", "2.6.22"))
        assert p["status"] == ("CRASH" if old else "PASS"), (cid, p)
        assert (p["binding"] == {}) == old, (cid, p)


def test_prediction_agrees_with_every_boot(predicted, nightly):
    _, report = nightly
    disagreements = []
    compared = 0
    for cell in report["cells"]:
        outcome = cell["outcome"]
        if outcome in ("ERROR", "SKIP"):  # infrastructure: nothing observed about the guest
            continue
        p = predicted[cell["id"]]
        if p["status"] is None:  # not predicted (no manifest)
            continue
        compared += 1
        if p["status"] != outcome:
            disagreements.append(f"{cell['id']}: predicted {p['status']} ({p['reason']}), boot {outcome}: "
                                 f"{cell['reason']}")
            continue
        if outcome == "FAIL":
            first_fail = next(pr for pr in cell["probes"] if pr["status"] == "fail")
            if (first_fail["id"], first_fail.get("call")) != (p["probe"], p.get("call")):
                disagreements.append(f"{cell['id']}: predicted {p['probe']} (call {p.get('call')}), boot failed "
                                     f"{first_fail['id']} (call {first_fail.get('call')})")
        if cell["binding"] != p["binding"]:
            disagreements.append(f"{cell['id']}: predicted binding {p['binding']}, boot {cell['binding']}")
        if bool(cell["hv_refused"]) != bool(p.get("refused")):
            disagreements.append(f"{cell['id']}: predicted refused={p.get('refused')!r}, boot {cell['hv_refused']!r}")
    xen_booted = sum(1 for c in report["cells"] if "/hv=xen-" in c["id"] and c["outcome"] not in ("ERROR", "SKIP"))
    assert xen_booted in (0, 45), f"{xen_booted} of 45 xen cells booted"  # 0: Xen could not be fetched
    assert compared >= 100 + xen_booted, f"only {compared} cells booted: is the host overloaded?"
    assert not disagreements, "\n".join(disagreements)


def test_run_records_predictions_and_no_findings(predicted, nightly):
    out, report = nightly
    for cell in report["cells"]:
        assert cell["predicted"] == predicted[cell["id"]]
    assert report["findings"] == []
    summary = (out / "summary.md").read_text()
    assert "## Prediction vs boot (0 findings)" in summary


def test_report_with_predictions_matches_the_schema(nightly):
    jsonschema = pytest.importorskip("jsonschema")
    _, report = nightly
    schema = json.loads((REPO / "reports" / "schema" / "report.schema.json").read_text())
    jsonschema.validate(report, schema)


def test_abi_diff_exit_bitmask(pvmatrix, images):
    assert cli(pvmatrix, images, "abi", "diff", "rom-1.13", "rom-1.13").returncode == 0
    assert cli(pvmatrix, images, "abi", "diff", "rom-1.12", "rom-1.13").returncode == 4
    proc = cli(pvmatrix, images, "abi", "diff", "rom-1.13.1", "rom-2.0")
    assert proc.returncode == 12, proc.stderr
    assert "call_reused" in proc.stdout and "67" in proc.stdout
    assert cli(pvmatrix, images, "abi", "diff", "rom-1.13", "rom-9").returncode == 2


def test_abi_diff_json_and_html(pvmatrix, images, tmp_path):
    page = tmp_path / "diff.html"
    proc = cli(pvmatrix, images, "abi", "diff", "rom-1.1", "rom-1.12", "--json", "--html", page)
    assert proc.returncode == 4, proc.stderr
    d = json.loads(proc.stdout)
    iret = [c for c in d["changes"] if c["kind"] == "call_rebound"]
    assert [(c["call"], c["from"], c["to"], c["severity"]) for c in iret] == [(33, "JUMP_REL", "CALL_REL", "needs review")]
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "JUMP_REL" in html and "<script" not in html and "http" not in html.replace("http-equiv", "")


def test_abi_show_reads_the_image(pvmatrix, images):
    proc = cli(pvmatrix, images, "abi", "show", "2.6.25", "--json")
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)
    assert m["release"] == "2.6.25" and m["api"] == [3, 4] and m["counter"] == "clamped"
    assert "!oneshot_alarm|-timer" in m["requirements"]
    by_path = cli(pvmatrix, images, "abi", "show", images / "kernel-2.6.21.elf")
    assert by_path.returncode == 0 and "release:   2.6.21" in by_path.stdout
    assert cli(pvmatrix, images, "abi", "show", "9.9.9").returncode == 2
