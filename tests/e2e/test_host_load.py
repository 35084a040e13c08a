"""Verdicts that do not depend on how busy the host is (issue 15): a matrix of reference cells
(rom and xen columns) run on an idle host and again while `stress-ng --cpu 8` oversubscribes the
2-core host gives the same statuses, stages, bindings and probes (details included: guest time
follows -icount), and no HANG or FLAKY; the run reports how starved the host was; a real hang is
still HANG after about its budget of guest time. The load generator is stopped whatever happens."""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import REPO


def matrix(tmp_path, xen):
    m = {"name": "host-load", "kernels": ["2.6.24", "2.6.25"], "hypervisors": ["rom-1.12", "rom-2.0"],
         "configs": [{"name": "default", "cmdline": ""}], "timeout": 10, "retries": 1,
         "known_issues": [str(REPO / "matrix" / "known-issues.json")]}
    if xen:
        m["hypervisors"].append("xen-4.17.7")
    path = tmp_path / "host-load.json"
    path.write_text(json.dumps(m))
    return path


def run(pvmatrix, images, path, out):
    proc = subprocess.run([str(pvmatrix), "run", str(path), "--out", str(out), "--images", str(images), "-j", "2"],
                          capture_output=True, text=True, timeout=1500, stdin=subprocess.DEVNULL)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return json.loads((out / "report.json").read_text()), proc.stdout


def view(report):
    return {c["id"]: {"status": c["status"], "stage": c["stage"], "binding": c["binding"], "probes": c["probes"]}
            for c in report["cells"]}


class Load:
    """stress-ng --cpu N in its own process group, killed on exit."""

    def __init__(self, workers):
        self.workers = workers
        self.proc = None

    def __enter__(self):
        exe = shutil.which("stress-ng")
        if not exe:
            pytest.skip("stress-ng is not installed (scripts/setup.sh installs it)")
        self.proc = subprocess.Popen([exe, "--cpu", str(self.workers), "--timeout", "1200s", "--quiet"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        time.sleep(1)  # let the workers start
        return self

    def __exit__(self, *exc):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)


def xen_cached():
    xen = json.loads("\n".join(l for l in (REPO / "hypervisor-versions" / "xen-4.17.7" / "version.json")
                               .read_text().splitlines() if not l.strip().startswith("//")))["package"]["version"]
    root = os.environ.get("PVMATRIX_XEN_CACHE") or os.path.join(
        os.environ.get("PVMATRIX_DOWNLOADS") or os.path.expanduser("~/.cache/pvmatrix"), "xen")
    return os.path.isfile(os.path.join(root, xen, "xen"))


needs_schedstat = pytest.mark.skipif(not os.path.exists("/proc/self/schedstat"),
                                     reason="no /proc/<pid>/schedstat (CONFIG_SCHED_INFO): budgets fall back to wall time")


@needs_schedstat
def test_a_busy_host_gives_the_same_verdicts(pvmatrix, images, tmp_path):
    path = matrix(tmp_path, xen_cached())
    idle, _ = run(pvmatrix, images, path, tmp_path / "idle")
    with Load(8):
        loaded, stdout = run(pvmatrix, images, path, tmp_path / "loaded")
    assert view(loaded) == view(idle)
    statuses = {c["status"] for c in loaded["cells"]}
    assert not statuses & {"HANG", "FLAKY", "ERROR"}, [(c["id"], c["status"], c["reason"]) for c in loaded["cells"]]
    # The host's share is measured and reported: QEMU waited for a CPU a good part of the time.
    host = loaded["summary"]["host"]
    assert host["attempts"] >= len(loaded["cells"])
    assert host["starved_fraction"] > 0.2, host
    assert "Host pressure:" in (tmp_path / "loaded" / "summary.md").read_text()
    assert idle["summary"]["host"]["starved_fraction"] < host["starved_fraction"]


@needs_schedstat
def test_a_real_hang_is_still_a_hang_on_a_busy_host(cell, fixture_guest, dummy_rom):
    with Load(8):
        c = cell("--kernel", fixture_guest("spin"), "--hv", "rom-1.13", "--rom", dummy_rom, "--timeout", 2,
                 "--json", timeout=120).cell
    assert c["status"] == "HANG", c["reason"]
    a = c["attempts"][-1]
    # About its budget of guest time, however long the host took.
    assert 1800 <= a["duration_ms"] - a["starved_ms"] < 6000, a
