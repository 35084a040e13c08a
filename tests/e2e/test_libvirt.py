"""The libvirt backend end to end, against a real libvirtd (scripts/libvirt-up.sh starts it):
the same statuses and bindings as the direct QEMU backend, no domain left behind after a
timeout or an interrupt, and a run spread over two libvirt hosts (the system daemon and a
second daemon in its own namespaces) whose results say which host ran each cell."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, loaded_libraries

SYSTEM_URI = "qemu:///system"

# The misbehaving-guest corpus (tests/fixtures/) and what each gives through libvirt. Only
# exit-mismatch differs from the direct backend: its done record is consistent and the exit
# status that contradicts it is lost through libvirt (the domain just reads as crashed).
CORPUS = {
    "pass": "PASS",
    "fail": "FAIL",
    "crash": "CRASH",
    "triple-fault": "CRASH",
    "spin": "HANG",
    "malformed": "PASS",
    "count-mismatch": "CRASH",
    "after-done": "CRASH",
    "no-done": "CRASH",
    "exit-mismatch": "PASS",
}

# Cells of the shipped world with distinct answers (a pass, the famous regression, its
# workaround, a major-version refusal): booted through both backends and compared.
WORLD_CELLS = [
    ("2.6.24", "rom-1.12", ""),
    ("2.6.25", "rom-1.12", ""),
    ("2.6.25", "rom-1.12", "pv.native=timer"),
    ("2.6.20", "rom-2.0", ""),
]


def _libvirt():
    import libvirt  # python3-libvirt, for /usr/bin/python3
    return libvirt


def pvm_domains(uri, prefix="pvm-"):
    """Names of every domain (running or defined) on `uri` whose name starts with `prefix`."""
    libvirt = _libvirt()
    conn = libvirt.open(uri)
    try:
        return sorted(d.name() for d in conn.listAllDomains() if d.name().startswith(prefix))
    finally:
        conn.close()


def wait_no_domains(uri, prefix, timeout=15):
    """Domains of ours that are still being torn down get a few seconds (libvirt sees QEMU
    exit only once it is reaped); returns what is left after that."""
    end = time.time() + timeout
    while True:
        left = pvm_domains(uri, prefix)
        if not left or time.time() > end:
            return left
        time.sleep(0.2)


@pytest.fixture(scope="session")
def libvirt_uri():
    proc = subprocess.run([str(REPO / "scripts/libvirt-up.sh")], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.skip(f"libvirtd cannot start here: scripts/libvirt-up.sh said: {proc.stderr.strip()[-500:]}")
    try:
        _libvirt()
    except ImportError:
        pytest.skip("python3-libvirt is missing (run with /usr/bin/python3; scripts/setup.sh installs it)")
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def second_uri(libvirt_uri):
    script = str(REPO / "scripts/libvirt-up.sh")
    proc = subprocess.run([script, "--second"], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.skip(f"a second libvirtd cannot start here: {proc.stderr.strip()[-500:]}")
    yield proc.stdout.strip().splitlines()[-1]
    subprocess.run([script, "--second", "--stop"], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def world_images(images):
    needed = [images / f"kernel-{k}.elf" for k, _, _ in WORLD_CELLS] + [images / f"{v}.rom" for _, v, _ in WORLD_CELLS]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        pytest.fail(f"images missing (build the guest_images target): {', '.join(missing)}")
    return images


@pytest.fixture(scope="session")
def readable_rom():
    """A dummy ROM for the test guests that the libvirt host's QEMU user can read: QEMU runs
    as libvirt's unprivileged user there, and pytest's tmp dirs are private (0700)."""
    d = Path("/tmp/pvmatrix-libvirt-test")
    d.mkdir(mode=0o755, exist_ok=True)
    d.chmod(0o755)
    rom = d / "dummy.rom"
    rom.write_bytes(b"\0" * 512)
    rom.chmod(0o644)
    return rom


def comparable(cell):
    """What must agree between the backends for one cell."""
    return {
        "status": cell["status"],
        "outcome": cell["outcome"],
        "binding": cell["binding"],
        "stage": cell["stage"],
        "probes": {p["id"]: p["status"] for p in cell["probes"]},
        "hv_api": cell["hv_api"],
        "hv_refused": cell["hv_refused"],
    }


@pytest.mark.parametrize("kernel,hv,cmdline", WORLD_CELLS, ids=lambda x: x or "default")
def test_a_cell_through_libvirt_matches_the_qemu_backend(cell, world_images, libvirt_uri, kernel, hv, cmdline):
    args = ["--kernel", kernel, "--hv", hv, "--json"]
    if cmdline:
        args += ["--cmdline", cmdline]
    direct = cell(*args)
    through = cell(*args, "--backend", "libvirt", "--connect", libvirt_uri)
    assert direct.cell and through.cell, (direct, through)
    assert comparable(through.cell) == comparable(direct.cell), (direct, through)
    assert through.rc == direct.rc
    assert through.cell["host"] == libvirt_uri
    assert through.cell["backend"] == "libvirt"


@pytest.mark.parametrize("name", CORPUS)
def test_the_guest_corpus_through_libvirt(cell, fixture_guest, readable_rom, libvirt_uri, name):
    timeout = 3 if name == "spin" else 30
    run = cell("--kernel", fixture_guest(name), "--hv", "rom-1.13", "--rom", readable_rom, "--timeout", timeout,
               "--json", "--backend", "libvirt")
    assert run.cell, run
    assert run.cell["status"] == CORPUS[name], f"{run.cell['reason']}\n{run.cell['evidence']}"
    assert run.cell["attempts"][0]["exit_code"] is None  # unknowable through libvirt


def test_a_timeout_destroys_the_domain(cell, fixture_guest, readable_rom, libvirt_uri):
    before = set(pvm_domains(libvirt_uri))
    t0 = time.time()
    run = cell("--kernel", fixture_guest("spin"), "--hv", "rom-1.13", "--rom", readable_rom, "--timeout", 1,
               "--json", "--backend", "libvirt")
    assert run.cell["status"] == "HANG", run
    assert time.time() - t0 < 20
    # pvmatrix waited for its domain to be destroyed before exiting.
    assert set(pvm_domains(libvirt_uri)) - before == set()


@pytest.mark.skipif(not os.path.exists("/proc/self/schedstat"),
                    reason="no /proc/<pid>/schedstat (CONFIG_SCHED_INFO): budgets fall back to wall time")
def test_a_local_daemons_budget_counts_guest_time_not_the_wall_clock(cell, fixture_guest, readable_rom, libvirt_uri):
    # The domain's QEMU belongs to libvirtd, but on this host its threads can be read: the budget
    # skips the time it waited for a CPU, as the qemu backend's does (a busy CI host must not turn
    # a slow boot into a HANG), and the attempt says how much CPU it got.
    from test_host_load import Load
    with Load(8):
        run = cell("--kernel", fixture_guest("spin"), "--hv", "rom-1.13", "--rom", readable_rom, "--timeout", 2,
                   "--json", "--backend", "libvirt", "--connect", libvirt_uri, timeout=120)
    assert run.cell and run.cell["status"] == "HANG", run
    a = run.cell["attempts"][-1]
    assert a["cpu_ms"] is not None and a["starved_ms"] is not None, a
    assert a["starved_ms"] > 0, a
    assert 1800 <= a["duration_ms"] - a["starved_ms"] < 6000, a


def test_an_unreachable_daemon_is_an_infrastructure_error(cell, fixture_guest, readable_rom):
    run = cell("--kernel", fixture_guest("pass"), "--hv", "rom-1.13", "--rom", readable_rom, "--json",
               "--backend", "libvirt", "--connect", "qemu+unix:///system?socket=/nonexistent/libvirt-sock")
    assert run.cell["status"] == "ERROR", run
    assert "/nonexistent/libvirt-sock" in run.cell["reason"]


def test_sigint_leaves_no_domain(pvmatrix, images, libvirt_uri, tmp_path, fixture_guest):
    world = REPO / "matrix" / "smoke.json"
    proc = subprocess.Popen(
        [str(pvmatrix), "run", str(world), "--images", str(images), "--out", str(tmp_path / "out"),
         "--backend", "libvirt", "--connect", libvirt_uri, "-j", "2", "--timeout", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    prefix = f"pvm-{proc.pid}-"
    try:
        deadline = time.time() + 60
        while not pvm_domains(libvirt_uri, prefix):
            assert proc.poll() is None, f"the run ended before any domain was seen: {proc.communicate()}"
            assert time.time() < deadline, "no domain of the run appeared"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert pvm_domains(libvirt_uri, prefix) == [], "pvmatrix exited leaving domains behind"


def run_matrix(pvmatrix, images, out, *extra):
    proc = subprocess.run(
        [str(pvmatrix), "run", str(REPO / "matrix" / "smoke.json"), "--images", str(images), "--out", str(out),
         *extra], capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode in (0, 1), proc
    report = json.loads((out / "report.json").read_text())
    return {c["id"]: c for c in report["cells"]}


def test_smoke_gives_the_same_statuses_and_bindings_on_both_backends(pvmatrix, world_images, libvirt_uri, tmp_path):
    direct = run_matrix(pvmatrix, world_images, tmp_path / "qemu", "--backend", "qemu")
    through = run_matrix(pvmatrix, world_images, tmp_path / "libvirt", "--backend", "libvirt",
                         "--connect", libvirt_uri)
    assert sorted(through) == sorted(direct)
    for cell_id in direct:
        assert comparable(through[cell_id]) == comparable(direct[cell_id]), cell_id
        assert through[cell_id]["backend"] == "libvirt"
        assert through[cell_id]["host"] == libvirt_uri
    assert wait_no_domains(libvirt_uri, "pvm-") == []


def test_two_hosts_share_a_run_and_results_say_which(pvmatrix, world_images, libvirt_uri, second_uri, tmp_path):
    cells = run_matrix(pvmatrix, world_images, tmp_path / "two", "--backend", "libvirt",
                       "--connect", f"{libvirt_uri},jobs=1", "--connect", f"{second_uri},jobs=1")
    hosts = {c["host"] for c in cells.values()}
    assert hosts == {libvirt_uri, second_uri}, hosts
    direct = run_matrix(pvmatrix, world_images, tmp_path / "qemu", "--backend", "qemu")
    for cell_id in direct:
        assert comparable(cells[cell_id]) == comparable(direct[cell_id]), cell_id
    assert wait_no_domains(second_uri, "pvm-") == []


# --- the libvirt module: loaded only by what boots through libvirt ---------------------------

def test_only_the_libvirt_backend_loads_libvirt(pvmatrix, images, fixture_guest, readable_rom, tmp_path,
                                                libvirt_uri):
    # The CLI itself is not linked against libvirt: a command that boots through QEMU directly
    # never loads it (its ~55 libraries cost tens of ms at every process start).
    needed = subprocess.run(["ldd", str(pvmatrix)], capture_output=True, text=True, check=True).stdout
    assert "libvirt.so" not in needed
    guest = ["--images", str(images), "--kernel", fixture_guest("pass"), "--hv", "rom-1.13", "--rom", readable_rom]
    direct, loaded = loaded_libraries(pvmatrix, tmp_path / "direct", "cell", *guest, "--json")
    assert direct.returncode == 0, direct.stderr[-2000:]
    assert not any(name.startswith("libvirt.so") for name in loaded), sorted(loaded)
    through, loaded = loaded_libraries(pvmatrix, tmp_path / "through", "cell", *guest, "--json",
                                       "--backend", "libvirt", "--connect", libvirt_uri)
    assert through.returncode == 0, through.stderr[-2000:]
    assert "pvmatrix-libvirt.so" in loaded and any(name.startswith("libvirt.so") for name in loaded), sorted(loaded)


def test_a_missing_libvirt_module_is_a_clear_error(pvmatrix, images, fixture_guest, readable_rom, tmp_path):
    proc = subprocess.run([str(pvmatrix), "cell", "--images", str(images), "--kernel", fixture_guest("pass"),
                           "--hv", "rom-1.13", "--rom", readable_rom, "--backend", "libvirt"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PVMATRIX_MODULE_DIR": str(tmp_path)})
    assert proc.returncode == 2, proc
    assert f"{tmp_path}/pvmatrix-libvirt.so" in proc.stderr
    assert "the libvirt backend is not available" in proc.stderr
