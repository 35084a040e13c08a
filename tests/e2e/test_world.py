"""Every cell of the shipped world (matrix/expected-world.json), booted for real through
`pvmatrix cell --json`: status, stage, first failing probe and call, binding, refusal."""
import pytest

from conftest import REPO, boot_expected, expected_cell_id, read_commented_json

EXPECTED = read_commented_json(REPO / "matrix" / "expected-world.json")["cells"]


def first_failing_probe(cell):
    return next((p for p in cell["probes"] if p["status"] == "fail"), None)


def test_expected_world_covers_the_matrix():
    plain = {(c["kernel"], c["hv"]) for c in EXPECTED if not c.get("cmdline")}
    assert len(plain) == 5 * 6
    assert sum(1 for c in EXPECTED if c.get("cmdline")) == 2


@pytest.mark.parametrize("expected", EXPECTED, ids=expected_cell_id)
def test_cell(cell, expected):
    run = boot_expected(cell, expected, 30)
    got = run.cell
    assert run.rc == (0 if expected["status"] == "PASS" else 1), run
    if "stage" in expected:
        assert got["stage"] == expected["stage"], got["reason"]
    if "probe" in expected:
        probe = first_failing_probe(got)
        assert probe is not None, got["reason"]
        assert probe["id"] == expected["probe"], got["reason"]
        assert probe["call"] == expected.get("call"), got["reason"]
    for group, value in expected.get("binding", {}).items():
        assert got["binding"].get(group) == value, f"binding of {group}: {got['binding']}"
    if "hv_refused" in expected:
        assert bool(got["hv_refused"]) == expected["hv_refused"], got["hv_refused"]
    if expected["status"] == "PASS":
        assert all(p["status"] != "fail" for p in got["probes"])


# The ROM selftest (kernel "romselftest"): every promise of hypervisor-versions/README.md a ROM
# can be asked about directly, one probe each (docs/promises.md), on every shipped ROM.
SELFTEST_PROBES = {"rom.header", "rom.init_refuses", "rom.init", "rom.get_reloc", "rom.cpuid", "rom.cr3",
                   "rom.preserves_registers", "rom.interrupts", "rom.iret"}


@pytest.mark.parametrize("hv", ["rom-1.0", "rom-1.1", "rom-1.12", "rom-1.13", "rom-1.13.1", "rom-2.0"])
def test_rom_selftest_passes_every_probe(cell, hv):
    run = cell("--kernel", "romselftest", "--hv", hv, "--json")
    got = run.cell
    assert got["status"] == "PASS" and run.rc == 0, (got["reason"], got["evidence"])
    ids = {p["id"] for p in got["probes"]}
    assert SELFTEST_PROBES <= ids, ids
    timer = hv != "rom-1.0"
    assert {"rom.alarm_periodic", "rom.alarm_oneshot", "rom.cancel_alarm", "rom.alarm_bad_args", "rom.counter"} <= ids \
        if timer else not any(i.startswith("rom.alarm") for i in ids), ids
    assert ("rom.halt" in ids) == (hv in ("rom-1.1", "rom-1.12", "rom-1.13", "rom-1.13.1")), ids  # Halt with a timer to wake it
    assert ("rom.lazy_mmu" in ids) == (hv not in ("rom-1.0", "rom-1.1")), ids
    assert ("rom.wallclock" in ids) == (hv not in ("rom-1.0", "rom-2.0")), ids
    assert got["binding"]["cpu"] == "rom" and got["binding"]["timer"] == ("rom" if timer else "native")
    assert [s["name"] for s in got["stages"]] == ["rom", "cpu", "irq", "mmu", "timer", "shutdown"]


def test_rom_selftest_fails_a_rom_that_breaks_a_promise(cell, images, tmp_path):
    """rom-1.13.1's image with its header renamed rom-1.13 (checksum fixed): its cycle counter
    steps back, which only the quirk of a ROM named rom-1.13.1 excuses. The selftest fails that
    one probe, in the stage it belongs to."""
    rom = tmp_path / "renamed.rom"
    data = bytearray((images / "rom-1.13.1.rom").read_bytes())
    name_at = 40
    data[name_at:name_at + 24] = b"rom-1.13".ljust(24, b"\0")
    data[3] = 0
    data[3] = (-sum(data)) & 0xFF  # checksum_adjust: the byte sum is 0 again
    rom.write_bytes(bytes(data))
    got = cell("--kernel", "romselftest", "--hv", "rom-1.13", "--rom", rom, "--json").cell
    assert got["status"] == "FAIL", got["reason"]
    failed = [p["id"] for p in got["probes"] if p["status"] == "fail"]
    assert failed == ["rom.counter"], got["probes"]
    assert got["stage"] == "timer"
