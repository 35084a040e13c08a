"""`pvmatrix cell` on the real kernel and ROMs: the famous cell and its workaround, usage and
infrastructure errors, and corrupt ROMs the kernel must refuse (booting native)."""
import pytest

from conftest import REPO

ALL_NATIVE = {g: "native" for g in ("cpu", "irq", "mmu", "timer", "lazy")}


def test_the_famous_cell_fails_in_the_timer_stage_on_SetAlarm(cell):
    run = cell("--kernel", "2.6.25", "--hv", "rom-1.12", "--json")
    c = run.cell
    assert c["status"] == "FAIL", c["reason"]
    assert run.rc == 1
    assert c["id"] == "kernel=2.6.25/hv=rom-1.12/cfg=default"
    assert c["stage"] == "timer"
    probe = next(p for p in c["probes"] if p["status"] == "fail")
    assert (probe["id"], probe["call"]) == ("time.oneshot", 68)
    assert "time.oneshot" in c["reason"] and "time.oneshot" in c["evidence"]
    assert c["qemu_cmdline"][0].endswith("qemu-system-i386")


def test_the_famous_cell_human_output_says_how_to_work_around(cell):
    run = cell("--kernel", "2.6.25", "--hv", "rom-1.12")
    assert run.rc == 1
    for text in ("FAIL", "stage:     timer", "time.oneshot", "call 68", "pv.native=timer",
                 "reproduce: pvmatrix cell --kernel 2.6.25 --hv rom-1.12"):
        assert text in run.stdout, run


def test_the_workaround_keeps_the_timer_native_and_passes(cell):
    run = cell("--kernel", "2.6.25", "--hv", "rom-1.12", "--cmdline", "pv.native=timer", "--json")
    c = run.cell
    assert c["status"] == "PASS", c["reason"] + "\n" + c["evidence"]
    assert run.rc == 0
    assert c["binding"]["timer"] == "native"
    assert c["binding"]["cpu"] == "rom"
    assert c["cmdline"] == "pv.native=timer"


@pytest.mark.parametrize("flag,value,listed", [
    ("--kernel", "2.6.99", ["2.6.20", "2.6.21", "2.6.22", "2.6.24", "2.6.25"]),
    ("--hv", "rom-9.9", ["rom-1.0", "rom-1.1", "rom-1.12", "rom-1.13", "rom-1.13.1", "rom-2.0"]),
])
def test_unknown_names_exit_2_listing_the_known_ones(cell, flag, value, listed):
    args = {"--kernel": "2.6.25", "--hv": "rom-1.12"}
    args[flag] = value
    run = cell("--kernel", args["--kernel"], "--hv", args["--hv"])
    assert run.rc == 2, run
    assert value in run.stderr
    for name in listed:
        assert name in run.stderr, run


def test_missing_qemu_is_an_error_naming_the_path(cell):
    run = cell("--kernel", "2.6.25", "--hv", "rom-1.12", "--qemu", "/nonexistent/qemu", "--json")
    assert run.rc == 2, run
    assert run.cell["status"] == "ERROR"
    assert "/nonexistent/qemu" in run.cell["reason"]


def test_help_is_readable(pvmatrix):
    import subprocess
    top = subprocess.run([str(pvmatrix), "--help"], capture_output=True, text=True)
    assert top.returncode == 0 and "cell" in top.stdout
    sub = subprocess.run([str(pvmatrix), "cell", "--help"], capture_output=True, text=True)
    assert sub.returncode == 0
    for flag in ("--kernel", "--hv", "--cmdline", "--timeout", "--rom", "--qemu", "--log", "--json"):
        assert flag in sub.stdout


@pytest.mark.parametrize("rom", ["bad-checksum.rom", "bad-truncated.rom", "bad-api9.rom"])
def test_a_bad_rom_is_refused_and_the_kernel_boots_native(cell, images, rom):
    path = images / rom
    if not path.exists():
        pytest.fail(f"{path} is missing: the ROM build produces it")
    run = cell("--kernel", "2.6.25", "--hv", "rom-1.13", "--rom", path, "--json")
    c = run.cell
    assert c["status"] == "PASS", c["reason"] + "\n" + c["evidence"]
    assert c["hv_refused"], c
    assert c["binding"] == ALL_NATIVE


def test_the_serial_log_is_written(cell, tmp_path):
    log = tmp_path / "sub" / "cell.log"
    run = cell("--kernel", "2.6.25", "--hv", "rom-1.13", "--log", log, "--json")
    assert run.cell["log"] == str(log)
    assert '@pvm {"v":1,"ev":"hello"' in log.read_text()
