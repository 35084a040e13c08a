"""Real Xen in the matrix (issue 10): every reference kernel release booted as the PVH dom0 of Xen
4.17.5, 4.17.7 and 4.20.4 (matrix/expected-xen.json), through `pvmatrix cell --json`. Skips, with
the reason, when Xen is not in the cache and scripts/fetch.sh cannot fetch it (no network)."""
import os
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, boot_expected, expected_cell_id, read_commented_json

EXPECTED = read_commented_json(REPO / "matrix" / "expected-xen.json")["cells"]
CACHE = Path(os.environ.get("PVMATRIX_XEN_CACHE") or
             Path(os.environ.get("PVMATRIX_DOWNLOADS") or Path.home() / ".cache" / "pvmatrix") / "xen")


def xen_binaries():
    out = {}
    for vj in sorted((REPO / "hypervisor-versions").glob("xen-*/version.json")):
        out[vj.parent.name] = CACHE / read_commented_json(vj)["package"]["version"] / "xen"
    return out


@pytest.fixture(scope="session")
def xen_cache():
    """Fetches Xen into the cache if it is not there; skips the Xen tests when that fails."""
    bins = xen_binaries()
    if not all(b.is_file() for b in bins.values()):
        proc = subprocess.run([str(REPO / "scripts" / "fetch.sh")], capture_output=True, text=True,
                              timeout=600, stdin=subprocess.DEVNULL)
        missing = [name for name, b in bins.items() if not b.is_file()]
        if missing:
            pytest.skip(f"Xen not in the cache {CACHE} and fetch.sh could not fetch {missing}: "
                        f"{proc.stderr.strip()[-300:]}")
    return bins


@pytest.mark.parametrize("expected", EXPECTED, ids=expected_cell_id)
def test_xen_cell(xen_cache, cell, expected):
    got = boot_expected(cell, expected, 60).cell
    for text in expected.get("reason", []):
        assert text in got["reason"], got["reason"]
    for group, value in expected.get("binding", {}).items():
        assert got["binding"].get(group) == value, f"binding of {group}: {got['binding']}"
    if got["status"] == "CRASH":
        assert not got["probes"], "a kernel Xen refused never ran a probe"
        return
    assert got["hv_api"] == ".".join(expected["hv"].split("-")[1].split(".")[:2]), got
    failing = [p["id"] for p in got["probes"] if p["status"] == "fail"]
    if "probe" in expected:
        assert failing and failing[0] == expected["probe"], failing
    # The same probe ids as the rom columns: a xen cell compares directly with a rom cell.
    ids = {p["id"] for p in got["probes"]}
    assert ids >= {"hv.negotiate", "cpu.cpuid", "irq.iret", "irq.halt", "mmu.tlb_flush", "time.oneshot",
                   "time.periodic", "time.wallclock"}, ids
    details = {p["id"]: p.get("detail", "") for p in got["probes"]}
    if expected.get("binding", {}).get("timer") == "xen":
        # The timer group really went through Xen: VIRQ_TIMER events, Xen's system time.
        assert "Xen single-shot timer (VIRQ_TIMER)" in details["time.oneshot"], details["time.oneshot"]
        assert "Xen system time" in details["time.counter_monotonic"], details["time.counter_monotonic"]
    if expected.get("binding", {}).get("irq") == "xen":
        assert "halt via Xen" in details["irq.halt"], details["irq.halt"]
    # ROM call numbers never appear on a Xen cell (its ops are hypercalls).
    assert all(p.get("call") is None for p in got["probes"]), got["probes"]


def test_xen_cells_are_deterministic(xen_cache, cell):
    """Guest time counts instructions (version.json icount_shift 0) and the RTC is pinned: two
    boots of the same xen cell report the same records, probe details included."""
    runs = [cell("--kernel", "2.6.25", "--hv", "xen-4.17.7", "--json", "--timeout", 60).cell for _ in range(2)]
    assert [r["status"] for r in runs] == ["PASS", "PASS"], [r["reason"] for r in runs]
    assert runs[0]["probes"] == runs[1]["probes"]


def test_missing_xen_is_skip_with_reason(cell, tmp_path, monkeypatch):
    monkeypatch.setenv("PVMATRIX_XEN_CACHE", str(tmp_path / "empty-cache"))
    run = cell("--kernel", "2.6.25", "--hv", "xen-4.17.7", "--json")
    assert run.cell is not None, run
    assert run.cell["status"] == "SKIP", run.cell
    assert "fetch.sh" in run.cell["reason"], run.cell["reason"]
