"""The misbehaving-guest corpus (tests/fixtures/): tiny multiboot guests that each end one way
the classification rules of docs/contracts.md name, booted through `pvmatrix cell`."""
import pytest

# name -> (status, a phrase the reason must hold)
CORPUS = {
    "pass": ("PASS", "done: pass=2"),
    "fail": ("FAIL", "probe time.oneshot failed"),
    "crash": ("CRASH", "vector 14"),
    "triple-fault": ("CRASH", "triple fault"),
    "spin": ("HANG", "without done"),
    "malformed": ("PASS", "done: pass=2"),
    "exit-mismatch": ("CRASH", "QEMU exited with 3"),
    "count-mismatch": ("CRASH", "probe records say pass=2"),
    "after-done": ("CRASH", "after done"),
    "no-done": ("CRASH", "exited without done"),
}


@pytest.mark.parametrize("name", CORPUS)
def test_guest_is_classified(cell, fixture_guest, dummy_rom, name):
    status, phrase = CORPUS[name]
    timeout = 3 if name == "spin" else 30
    run = cell("--kernel", fixture_guest(name), "--hv", "rom-1.13", "--rom", dummy_rom, "--timeout", timeout, "--json")
    c = run.cell
    assert c["status"] == status, f"{c['reason']}\n{c['evidence']}"
    assert phrase in c["reason"], c["reason"]
    assert run.rc == (0 if status == "PASS" else 1)
    assert c["attempts"][0]["status"] == status


def test_malformed_and_forged_records_are_ignored_and_capped(cell, fixture_guest, dummy_rom):
    c = cell("--kernel", fixture_guest("malformed"), "--hv", "rom-1.13", "--rom", dummy_rom, "--json").cell
    assert len(c["probes"]) == 2  # the forged mid-line done and the bad probes do not count
    assert len(c["probes"][0]["detail"]) < 4096 + 64
    assert "5 malformed" in c["evidence"]


def test_the_failing_guest_names_stage_probe_and_call(cell, fixture_guest, dummy_rom):
    c = cell("--kernel", fixture_guest("fail"), "--hv", "rom-1.13", "--rom", dummy_rom, "--json").cell
    assert c["stage"] == "timer"
    probe = next(p for p in c["probes"] if p["status"] == "fail")
    assert (probe["id"], probe["call"]) == ("time.oneshot", 68)


def test_a_hang_is_killed_at_the_timeout(cell, fixture_guest, dummy_rom):
    c = cell("--kernel", fixture_guest("spin"), "--hv", "rom-1.13", "--rom", dummy_rom, "--timeout", 1, "--json").cell
    assert c["status"] == "HANG"
    # The budget counts the time QEMU could run: the wall time minus what it waited for a CPU.
    starved = c["attempts"][-1].get("starved_ms", 0)
    assert 900 <= c["duration_ms"] - starved < 5000, c["attempts"]
    # The stage that was running (it began, never ended), and the last probe it finished.
    assert c["stage"] == "timer"
    assert "in stage timer after probe time.counter_monotonic" in c["reason"], c["reason"]
    assert [s["name"] for s in c["stages"]][-1] == "mmu"  # ended stages only


def test_the_pc_platform_boots_too(cell, fixture_guest, dummy_rom):
    c = cell("--kernel", fixture_guest("pass"), "--hv", "rom-1.0", "--rom", dummy_rom, "--json").cell
    assert c["status"] == "PASS", c["reason"]
    assert "pc" in c["qemu_cmdline"]


def test_a_missing_rom_image_is_an_error_naming_it(cell, fixture_guest, tmp_path):
    missing = tmp_path / "nope.rom"
    run = cell("--kernel", fixture_guest("pass"), "--hv", "rom-1.13", "--rom", missing, "--json")
    assert run.rc == 2
    assert run.cell["status"] == "ERROR"
    assert str(missing) in run.cell["reason"]


def qemus_using(path):
    """Pids of live processes whose command line mentions `path`."""
    import os
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if str(path).encode() in f.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def test_sigint_kills_the_guest_and_reports_interrupted(pvmatrix, images, fixture_guest, tmp_path):
    import json
    import signal
    import subprocess
    import time
    rom = tmp_path / "sigint.rom"  # a unique path, to find this test's QEMU
    rom.write_bytes(b"\0" * 512)
    proc = subprocess.Popen([str(pvmatrix), "cell", "--images", str(images), "--kernel", fixture_guest("spin"),
                             "--hv", "rom-1.13", "--rom", str(rom), "--timeout", "60", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(qemus_using(rom)) < 2:  # pvmatrix and QEMU
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    c = json.loads(out)
    assert (c["status"], c["reason"]) == ("ERROR", "interrupted")
    assert qemus_using(rom) == []
