"""Real kernels on real hypervisors (issue 14): Debian's Linux 6.1 booted bare on QEMU and as the
PVH and PV dom0 of Debian's Xen 4.17.7, and Xen refusing Debian's 32-bit kernel as a PV dom0
(matrix/real-smoke.json), with the project's guest agent as init. One `pvmatrix run` for the
module; every cell is checked against matrix/expected-real.json, against its prediction from the
vmlinux's Xen ELF notes, and for determinism. Skips, with the reason, when scripts/fetch.sh cannot
put the pinned packages in the cache (no network)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, read_commented_json

SMOKE = REPO / "matrix" / "real-smoke.json"
EXPECTED = {(c["kernel"], c["hv"], c.get("config", "default")): c
            for c in read_commented_json(REPO / "matrix" / "expected-real.json")["cells"]}
DOWNLOADS = Path(os.environ.get("PVMATRIX_DOWNLOADS") or Path.home() / ".cache" / "pvmatrix")


def needed():
    """The cache entries real-smoke.json boots: vmlinux of the two kernels, Xen 4.17.7."""
    out = []
    for name in ("linux-6.1", "linux-6.1-686-pae"):
        p = read_commented_json(REPO / "kernel" / "linux" / f"{name}.json")["package"]
        out.append(DOWNLOADS / "linux" / f"{p['name']}_{p['version']}_{p['architecture']}" / "vmlinux")
    xen = read_commented_json(REPO / "hypervisor-versions" / "xen-4.17.7" / "version.json")["package"]
    xen_cache = Path(os.environ.get("PVMATRIX_XEN_CACHE") or DOWNLOADS / "xen")
    out.append(xen_cache / xen["version"] / "xen")
    return out


@pytest.fixture(scope="module")
def real_cache(pvmatrix):
    if not all(p.is_file() for p in needed()):
        proc = subprocess.run([str(REPO / "scripts" / "fetch.sh"), "--pvmatrix", str(pvmatrix)], capture_output=True,
                              text=True, timeout=1200, stdin=subprocess.DEVNULL)
        missing = [str(p) for p in needed() if not p.is_file()]
        if missing:
            pytest.skip(f"not in the cache and scripts/fetch.sh could not fetch them: {missing}: "
                        f"{proc.stderr.strip()[-400:]}")


@pytest.fixture(scope="module")
def smoke(real_cache, pvmatrix, images, tmp_path_factory):
    out = tmp_path_factory.mktemp("real-smoke")
    proc = subprocess.run([str(pvmatrix), "run", str(SMOKE), "--out", str(out), "--images", str(images), "-j", "2"],
                          capture_output=True, text=True, timeout=1800, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # only expected outcomes
    report = json.loads((out / "report.json").read_text())
    assert report["complete"]
    return out, report


# The cells of matrix/real-smoke.json (`pvmatrix list matrix/real-smoke.json`).
SMOKE_CELLS = ["kernel=linux-6.1/hv=qemu/cfg=default", "kernel=linux-6.1/hv=xen-4.17.7/cfg=default",
               "kernel=linux-6.1/hv=xen-4.17.7/cfg=dom0-pv", "kernel=linux-6.1-686-pae/hv=xen-4.17.7/cfg=dom0-pv"]


def test_the_smoke_matrix_is_these_cells(pvmatrix, images):
    listed = subprocess.run([str(pvmatrix), "list", str(SMOKE), "--images", str(images)], capture_output=True,
                            text=True, timeout=60)
    assert listed.stdout.split() == SMOKE_CELLS, listed.stdout + listed.stderr


@pytest.mark.parametrize("cell_id", SMOKE_CELLS)
def test_real_cell_is_as_expected(smoke, cell_id):
    _, report = smoke
    got = next(c for c in report["cells"] if c["id"] == cell_id)
    want = EXPECTED[(got["kernel"], got["hv"], got["config"])]
    assert got["outcome"] == want["status"], f"{got['reason']}\n{got['evidence']}"
    for text in want.get("reason", []):
        assert text in got["reason"], got["reason"]
    for group, value in want.get("binding", {}).items():
        assert got["binding"].get(group) == value, f"binding of {group}: {got['binding']}"
    if got["outcome"] == "CRASH":
        # The evidence is Xen's own refusal, not the tail of its boot banner.
        assert "Could not construct domain 0" in got["evidence"], got["evidence"]
        assert not got["probes"], "a kernel Xen refused never ran a probe"
        return
    # The guest agent ran: Linux's own view of the hypervisor and the shared probe ids.
    ids = {p["id"] for p in got["probes"]}
    assert ids >= {"cpu.cpuid", "linux.hypervisor", "irq.halt", "mmu.tlb_flush", "mmu.lazy_batch",
                   "time.counter_monotonic", "time.oneshot", "time.periodic", "time.wallclock"}, ids
    details = {p["id"]: p["detail"] for p in got["probes"]}
    if got["hv"].startswith("xen-"):
        assert got["hv_api"] == "4.17", got["hv_api"]
        guest = "PV" if got["config"] == "dom0-pv" else "PVH"
        assert f"guest_type {guest}" in details["linux.hypervisor"], details["linux.hypervisor"]
    else:
        assert got["hv_api"] == "" and set(got["binding"].values()) == {"native"}, got


def test_predictions_from_the_elf_notes_agree_with_every_boot(smoke):
    out, report = smoke
    for c in report["cells"]:
        assert c["predicted"]["status"] is not None, c["predicted"]
    assert report["findings"] == [], report["findings"]
    assert "## Prediction vs boot (0 findings)" in (out / "summary.md").read_text()


def test_real_report_matches_the_schema_and_renders(smoke):
    jsonschema = pytest.importorskip("jsonschema")
    out, report = smoke
    jsonschema.validate(report, json.loads((REPO / "reports" / "schema" / "report.schema.json").read_text()))
    html = (out / "report.html").read_text()
    assert "linux-6.1-686-pae" in html and "xen-4.17.7" in html
    junit = (out / "junit.xml").read_text()
    assert 'classname="kernel-linux-6.1"' in junit


def test_a_bare_real_cell_is_deterministic(real_cache, cell):
    """-icount and the pinned RTC: two boots of the same real cell give the same records."""
    runs = [cell("--kernel", "linux-6.1", "--hv", "qemu", "--json", "--timeout", 300, timeout=400).cell
            for _ in range(2)]
    assert [r["status"] for r in runs] == ["PASS", "PASS"], [r["reason"] for r in runs]
    assert runs[0]["probes"] == runs[1]["probes"]
    assert runs[0]["stages"] == runs[1]["stages"]


def test_abi_show_reads_a_real_kernels_xen_notes(real_cache, pvmatrix, images):
    proc = subprocess.run([str(pvmatrix), "abi", "show", "linux-6.1", "--json", "--images", str(images)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)
    assert m["family"] == "linux" and m["xen"]["elf_class"] == 64
    assert m["xen"]["has_pvh_entry"] and m["xen"]["has_pv_entry"], m["xen"]
    pae = subprocess.run([str(pvmatrix), "abi", "show", "linux-6.1-686-pae", "--images", str(images)],
                         capture_output=True, text=True, timeout=120)
    assert pae.returncode == 0 and "pv entry:  -" in pae.stdout, pae.stdout


def test_a_missing_package_is_skip_with_the_reason(cell, tmp_path, monkeypatch):
    monkeypatch.setenv("PVMATRIX_DOWNLOADS", str(tmp_path / "empty"))
    run = cell("--kernel", "linux-6.12", "--hv", "qemu", "--json")
    assert run.cell["status"] == "SKIP", run.cell
    assert "linux-image-6.12.117+deb13-amd64=6.12.117-1" in run.cell["reason"]
    assert "scripts/fetch.sh" in run.cell["reason"]


def test_a_truncated_vmlinux_is_classified_not_a_harness_crash(real_cache, cell, tmp_path, monkeypatch):
    p = read_commented_json(REPO / "kernel" / "linux" / "linux-6.1.json")["package"]
    entry = f"{p['name']}_{p['version']}_{p['architecture']}"
    src = DOWNLOADS / "linux" / entry / "vmlinux"
    dst = tmp_path / "dl" / "linux" / entry
    dst.mkdir(parents=True)
    with open(src, "rb") as f:
        (dst / "vmlinux").write_bytes(f.read(3 * 1024 * 1024))  # headers intact, segments cut
    monkeypatch.setenv("PVMATRIX_DOWNLOADS", str(tmp_path / "dl"))
    run = cell("--kernel", "linux-6.1", "--hv", "qemu", "--json", "--timeout", 60, timeout=200)
    assert run.cell is not None, run
    assert run.cell["status"] in ("CRASH", "ERROR"), run.cell
    assert run.cell["reason"], run.cell


def test_a_bad_descriptor_is_a_located_error(pvmatrix, images, tmp_path):
    root = tmp_path / "root"
    (root / "kernel" / "linux").mkdir(parents=True)
    os.symlink(REPO / "hypervisor-versions", root / "hypervisor-versions")
    text = (REPO / "kernel" / "linux" / "linux-6.1.json").read_text().replace('"switches"', '"switchs"')
    (root / "kernel" / "linux" / "linux-6.1.json").write_text(text)
    proc = subprocess.run([str(pvmatrix), "list", "--root", str(root), "--images", str(images)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "linux-6.1.json:" in proc.stderr and 'unknown key "switchs"' in proc.stderr, proc.stderr
    line = [ln for ln in proc.stderr.splitlines() if "linux-6.1.json:" in ln][0]
    assert line.split("linux-6.1.json:")[1].split(":")[0].isdigit(), line


def test_expected_outcomes_and_known_issues_agree(pvmatrix, images):
    """Every non-PASS row of matrix/expected-real.json is a known issue of the nightly with the
    same expected status (so the nightly exits 0 on them), and every row is a nightly cell."""
    listed = subprocess.run([str(pvmatrix), "list", str(REPO / "matrix" / "nightly.json"), "--json",
                             "--only", "kernel=linux-*", "--images", str(images)],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    cells = {(c["kernel"], c["hv"], c["config"]): c for c in json.loads(listed.stdout)["cells"]}
    for key, want in EXPECTED.items():
        assert key in cells, f"{key} is not a nightly cell"
        expected = cells[key]["expected"]
        assert expected == (None if want["status"] == "PASS" else want["status"]), (key, cells[key])
