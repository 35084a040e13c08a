"""Reliability (issue 8): misbehaving guests, host faults and interruption. Whatever a guest or
the host does, every cell gets a classified result with evidence, harness memory stays bounded,
infrastructure faults are ERROR (never a regression), an interrupted run leaves no QEMU behind
and a partial report that --resume completes. (tests/e2e/test_bad_input.py covers bad input.)"""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO

QEMU = "/usr/libexec/qemu-system-i386"
RSS_LIMIT_KIB = 64 * 1024


def vm_hwm_kib(pid):
    """Peak RSS of one process (not of its children: QEMU is not ours to count)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def run_measured(argv, timeout=120):
    """Runs argv, sampling its peak RSS until it exits; returns (proc result, peak KiB)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    peak = 0
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        peak = max(peak, vm_hwm_kib(proc.pid))
        time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=max(1, deadline - time.monotonic()))
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr), peak


def write_script(path, text):
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(0o755)
    return path


def write_matrix(path, **fields):
    m = {"kernels": ["fixture-pass"], "hypervisors": ["rom-1.13"], "timeout": 20, "retries": 0}
    m.update(fields)
    path.write_text(json.dumps(m, indent=1))
    return path


def qemu_pids(images):
    """QEMU processes booting images of this build (other builds' boots are not ours)."""
    out = subprocess.run(["pgrep", "-f", f"qemu-system-i386 .*{images}/"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.fixture
def run(pvmatrix, images):
    """run(matrix, *args) -> `pvmatrix run MATRIX --images IMAGES ARGS` (CompletedProcess)."""

    def go(matrix, *args, timeout=180):
        argv = [str(pvmatrix), "run", str(matrix), "--images", str(images), *map(str, args)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    return go


def report_of(out):
    return json.loads((Path(out) / "report.json").read_text())


# --- 1. Misbehaving guests -----------------------------------------------------------------

def test_a_flooding_guest_is_a_hang_with_bounded_memory_and_log(pvmatrix, images, fixture_guest, dummy_rom, tmp_path):
    log = tmp_path / "flood.log"
    proc, peak = run_measured([str(pvmatrix), "cell", "--images", str(images), "--kernel", fixture_guest("flood"),
                               "--hv", "rom-1.13", "--rom", str(dummy_rom), "--timeout", "6", "--log", str(log), "--json"])
    c = json.loads(proc.stdout)
    assert c["status"] == "HANG", c["reason"]
    assert c["stage"] == "cpu"
    assert "flood: 0123" in c["evidence"] and "serial output cut" in c["evidence"], c["evidence"]
    assert log.stat().st_size < 2 * 1024 * 1024
    assert peak < RSS_LIMIT_KIB, f"pvmatrix cell peaked at {peak} KiB"


def test_gigabytes_of_serial_output_keep_harness_memory_bounded(pvmatrix, images, fixture_guest, dummy_rom, tmp_path):
    # QEMU's byte-at-a-time serial cannot write gigabytes in a test's time: a stand-in "QEMU"
    # writes 2 GiB to the serial pipe at pipe speed, then exits as a guest that never said done.
    fake = write_script(tmp_path / "qemu-flood",
                        'printf \'@pvm {"v":1,"ev":"hello","kernel":"fixture","build":"x"}\\n\'\n'
                        'yes "flood: 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstu" '
                        '| head -c 2147483648\nexit 0\n')
    proc, peak = run_measured([str(pvmatrix), "cell", "--images", str(images), "--kernel", fixture_guest("pass"),
                               "--hv", "rom-1.13", "--rom", str(dummy_rom), "--qemu", str(fake), "--timeout", "100",
                               "--json"], timeout=150)
    c = json.loads(proc.stdout)
    assert c["status"] == "CRASH" and "exited without done" in c["reason"], c["reason"]
    assert "serial output cut, 2147483" in c["evidence"], c["evidence"][-300:]
    assert peak < RSS_LIMIT_KIB, f"pvmatrix cell peaked at {peak} KiB"


def test_forged_records_do_not_count(cell, fixture_guest, dummy_rom):
    # A done inside a probe's detail and done/probe records embedded mid-line: only the real
    # records count, so the failing probe is not hidden by the forged "fail":0.
    run = cell("--kernel", fixture_guest("forged"), "--hv", "rom-1.13", "--rom", dummy_rom, "--json")
    c = run.cell
    assert c["status"] == "FAIL", c["reason"] + "\n" + c["evidence"]
    assert run.rc == 1
    assert c["reason"].startswith("probe time.oneshot failed"), c["reason"]
    assert "\n" not in c["reason"] and "refused\\n@pvm" in c["reason"], c["reason"]  # one line, escaped
    assert [p["id"] for p in c["probes"]] == ["cpu.cpuid", "irq.save_restore", "time.oneshot"]
    assert [p["status"] for p in c["probes"]] == ["pass", "pass", "fail"]
    assert '"ev":"probe","id":"time.oneshot","status":"fail"' in c["evidence"]


@pytest.mark.parametrize("name,phrase", [
    ("done-hides-failure", "done says pass=3 fail=0 skip=0 but the probe records say pass=2 fail=1 skip=0"),
    ("done-fail-exit-zero", "done says fail=1 (exit status 3 expected) but QEMU exited with 1"),
])
def test_a_done_that_disagrees_is_a_crash_with_evidence(cell, fixture_guest, dummy_rom, name, phrase):
    run = cell("--kernel", fixture_guest(name), "--hv", "rom-1.13", "--rom", dummy_rom, "--json")
    c = run.cell
    assert c["status"] == "CRASH", c["reason"]
    assert phrase in c["reason"], c["reason"]
    assert '"ev":"done"' in c["evidence"], c["evidence"]
    assert run.rc == 1


# --- 2. Host faults --------------------------------------------------------------------------

def test_qemu_killed_by_the_host_is_an_error_retried_and_never_a_regression(pvmatrix, run, tmp_path):
    calls = tmp_path / "calls"
    # Each boot: QEMU (exec'd, so it keeps the wrapper's pid) is SIGKILLed 0.5 s in, mid-boot.
    wrapper = write_script(tmp_path / "qemu-killed",
                           f'echo "$@" >> {calls}\ncase "$*" in *-kernel*) ( sleep 0.5; kill -9 $$ ) & ;; esac\n'
                           f'exec {QEMU} "$@"\n')
    matrix = write_matrix(tmp_path / "m.json", kernels=["fixture-spin"], retries=1)
    proc = run(matrix, "--qemu", wrapper, "--out", tmp_path / "out")
    assert proc.returncode == 1, proc.stderr
    c = report_of(tmp_path / "out")["cells"][0]
    assert c["status"] == "ERROR", c["reason"]
    assert c["reason"] == "host killed QEMU with SIGKILL"
    assert [(a["status"], a["signal"]) for a in c["attempts"]] == [("ERROR", 9), ("ERROR", 9)]
    assert calls.read_text().count("-kernel") == 2  # boots (not `qemu --version` for the metadata)

    # Against a baseline where the cell passed: an ERROR verdict, not a REGRESSION; diff exits 0.
    base = report_of(tmp_path / "out")
    base["cells"][0].update(status="PASS", outcome="PASS", reason="done", attempts=[
        {"status": "PASS", "duration_ms": 1, "exit_code": 1, "signal": None, "reason": "done"}])
    (tmp_path / "base.json").write_text(json.dumps(base))
    diff = subprocess.run([str(pvmatrix), "diff", str(tmp_path / "base.json"), str(tmp_path / "out" / "report.json"),
                           "--json", "-"], capture_output=True, text=True)
    assert diff.returncode == 0, diff.stdout + diff.stderr
    verdicts = json.loads(diff.stdout)
    assert verdicts["regressions"] == 0
    assert [v["verdict"] for v in verdicts["verdicts"]] == ["ERROR"], verdicts


def test_a_host_kill_then_a_clean_boot_is_retried_to_a_pass(run, tmp_path):
    calls = tmp_path / "calls"
    wrapper = write_script(tmp_path / "qemu-once",
                           f'case "$*" in *-kernel*) echo boot >> {calls} ;; *) exec {QEMU} "$@" ;; esac\n'
                           f'if [ "$(wc -l < {calls})" -eq 1 ]; then kill -9 $$; fi\nexec {QEMU} "$@"\n')
    matrix = write_matrix(tmp_path / "m.json", retries=2)
    proc = run(matrix, "--qemu", wrapper, "--out", tmp_path / "out")
    c = report_of(tmp_path / "out")["cells"][0]
    assert [a["status"] for a in c["attempts"]] == ["ERROR", "PASS"], c
    assert c["status"] == "FLAKY" and "host killed QEMU with SIGKILL" in c["reason"], c["reason"]
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("kind", ["missing", "not-executable", "directory"])
def test_an_unusable_qemu_is_an_error_naming_its_path(run, tmp_path, kind):
    qemu = tmp_path / "qemu-system-i386"
    if kind == "not-executable":
        qemu.write_text("#!/bin/sh\nexit 0\n")
        qemu.chmod(0o644)
    elif kind == "directory":
        qemu.mkdir()
    matrix = write_matrix(tmp_path / "m.json", hypervisors=["rom-1.13", "rom-2.0"])
    proc = run(matrix, "--qemu", qemu, "--out", tmp_path / "out")
    assert proc.returncode in (1, 2), proc.stderr
    for c in report_of(tmp_path / "out")["cells"]:
        assert c["status"] == "ERROR", c["reason"]
        assert str(qemu) in c["reason"], c["reason"]
        assert len(c["attempts"]) == 1


@pytest.fixture
def tiny_fs(tmp_path):
    """A 64 KiB tmpfs (we are root in the test container); unmounted afterwards."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)])


def test_a_full_filesystem_is_a_clear_error_and_the_previous_report_survives(run, tmp_path, tiny_fs):
    out = tiny_fs / "out"
    out.mkdir()
    previous = b'{"schema": "pvmatrix-report", "note": "the previous run"}\n'
    (out / "report.json").write_bytes(previous)
    filler = tiny_fs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:  # fill every block
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    os.close(fd)
    matrix = write_matrix(tmp_path / "m.json", hypervisors=["rom-1.13", "rom-2.0"])
    proc = run(matrix, "--out", out)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "No space left on device" in proc.stderr, proc.stderr
    assert str(out) in proc.stderr, proc.stderr
    assert "terminate called" not in proc.stderr
    assert (out / "report.json").read_bytes() == previous
    assert not [p.name for p in out.iterdir() if ".tmp." in p.name], "temporary files left behind"


# --- 3. Interruption -------------------------------------------------------------------------

def interrupt_matrix(tmp_path):
    # Three quick cells and three that spin until their (long) timeout: interrupted mid-run.
    return write_matrix(tmp_path / "m.json", kernels=["fixture-pass", "fixture-spin"],
                        hypervisors=["rom-1.12", "rom-1.13", "rom-2.0"], timeout=60)


def start_and_interrupt(pvmatrix, images, matrix, out, signo, extra=()):
    argv = [str(pvmatrix), "run", str(matrix), "--images", str(images), "--out", str(out), "-j", "6", *extra]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    # Wait until the three passing cells are done (their logs are written) and the spinners run.
    while time.monotonic() < deadline:
        logs = list((out / "logs").glob("fixture-pass/*/*.log")) if (out / "logs").exists() else []
        if len(logs) == 3 and len(qemu_pids(images)) >= 3:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail(f"the run did not get going: {proc.communicate()}")
    time.sleep(0.3)
    proc.send_signal(signo)
    sent = time.monotonic()
    while qemu_pids(images) and time.monotonic() - sent < 5:
        time.sleep(0.02)
    gone_after = time.monotonic() - sent
    stdout, stderr = proc.communicate(timeout=30)
    return proc.returncode, gone_after, stdout, stderr


@pytest.mark.parametrize("signo,rc", [(signal.SIGINT, 130), (signal.SIGTERM, 2)], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_kills_every_qemu_and_writes_a_partial_report(pvmatrix, images, tmp_path, signo, rc):
    out = tmp_path / "out"
    code, gone_after, stdout, stderr = start_and_interrupt(pvmatrix, images, interrupt_matrix(tmp_path), out, signo)
    assert gone_after < 1.0, f"QEMU still running {gone_after:.2f} s after the signal"
    assert not qemu_pids(images)
    assert code == rc, stdout + stderr
    report = report_of(out)
    assert report["complete"] is False
    assert sorted((c["kernel"], c["status"]) for c in report["cells"]) == [("fixture-pass", "PASS")] * 3
    assert "(partial)" in stdout


def test_a_harness_killed_with_sigkill_leaves_no_qemu_behind(pvmatrix, images, tmp_path):
    # SIGKILL gives the harness no chance to clean up: its QEMUs die with it (parent-death
    # signal), instead of spinning on as orphans until their own 60 s timeout.
    out = tmp_path / "out"
    code, gone_after, stdout, stderr = start_and_interrupt(pvmatrix, images, interrupt_matrix(tmp_path), out,
                                                           signal.SIGKILL)
    assert code == -signal.SIGKILL, stdout + stderr
    assert gone_after < 2.0, f"QEMU still running {gone_after:.2f} s after the harness was killed"
    assert not qemu_pids(images)
    assert not (out / "report.json").exists()  # nothing half-written either (atomic writes)


def test_resume_boots_only_the_missing_cells_and_matches_an_uninterrupted_run(pvmatrix, images, run, tmp_path):
    matrix = interrupt_matrix(tmp_path)
    out = tmp_path / "out"
    code, _, stdout, stderr = start_and_interrupt(pvmatrix, images, matrix, out, signal.SIGINT)
    assert code == 130, stdout + stderr
    partial = {c["id"]: c for c in report_of(out)["cells"]}
    assert len(partial) == 3

    calls = tmp_path / "calls"
    counting = write_script(tmp_path / "qemu-counting", f'echo "$@" >> {calls}\nexec {QEMU} "$@"\n')
    resumed = run(matrix, "--resume", out, "--timeout", 2, "--qemu", counting)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr  # the spinners HANG
    booted = [b for b in calls.read_text().splitlines() if "-kernel" in b]
    assert len(booted) == 3 and all("fixture-spin.elf" in b for b in booted), booted
    report = report_of(out)
    assert report["complete"] is True
    for cid, c in partial.items():  # kept as they were (the resumed run adds their history words)
        kept = next(x for x in report["cells"] if x["id"] == cid)
        assert {k: v for k, v in kept.items() if k != "history"} == c

    fresh = run(matrix, "--timeout", 2, "--out", tmp_path / "fresh")
    assert fresh.returncode == 1, fresh.stderr
    def essence(r):
        return [(c["id"], c["status"], [(p["id"], p["status"], p["detail"]) for p in c["probes"]]) for c in r["cells"]]
    assert essence(report) == essence(report_of(tmp_path / "fresh"))
