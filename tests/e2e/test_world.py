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
