"""Shared fixtures for the end-to-end tests: the built CLI and a way to boot one cell.

Build dir: $PVMATRIX_BUILD (default <repo>/build): the CLI is <build>/pvmatrix, the guest
images <build>/images (kernels, ROMs, bad ROMs, test guests from tests/fixtures/).
"""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("PVMATRIX_BUILD", REPO / "build"))


def read_commented_json(path):
    """JSON with whole-line `//` comments, as the harness accepts (docs/contracts.md)."""
    text = Path(path).read_text()
    return json.loads(re.sub(r"^\s*//.*$", "", text, flags=re.M))


def expected_cell_id(c):
    """Test id of an expected-outcomes row (matrix/expected-*.json)."""
    cfg = f"/cmdline={c['cmdline']}" if c.get("cmdline") else ""
    return f"kernel={c['kernel']}/hv={c['hv']}{cfg}"


def boot_expected(cell, expected, timeout_s):
    """Boots an expected-outcomes row with `pvmatrix cell --json`; checks it produced a cell object
    with the expected status (the reason and evidence on failure) and returns the CellRun."""
    args = ["--kernel", expected["kernel"], "--hv", expected["hv"], "--json", "--timeout", timeout_s]
    if expected.get("cmdline"):
        args += ["--cmdline", expected["cmdline"]]
    run = cell(*args)
    got = run.cell
    assert got is not None, run
    assert got["status"] == expected["status"], f"{got['reason']}\n{got['evidence']}"
    return run


class CellRun:
    """What one `pvmatrix cell` invocation left behind."""

    def __init__(self, args, proc):
        self.args = args
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.cell = None
        if "--json" in args and proc.stdout.strip():
            self.cell = json.loads(proc.stdout)

    def __repr__(self):
        return f"<pvmatrix {' '.join(self.args)} rc={self.rc}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}>"


def loaded_libraries(pvmatrix, tmp_path, *args):
    """Runs a pvmatrix command; returns it and the file names of the shared objects that process
    loaded (the dynamic loader's own account, LD_DEBUG=files, one file per process)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    trace = tmp_path / "ld"
    proc = subprocess.Popen([str(pvmatrix), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL,
                            env={**os.environ, "LD_DEBUG": "files", "LD_DEBUG_OUTPUT": str(trace)})
    out, err = proc.communicate(timeout=120)
    lines = Path(f"{trace}.{proc.pid}").read_text().splitlines()
    loaded = {Path(line.split("file=", 1)[1].split()[0]).name for line in lines if "file=" in line}
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), loaded


@pytest.fixture(scope="session")
def build_dir():
    return BUILD


@pytest.fixture(scope="session")
def images(build_dir):
    return build_dir / "images"


@pytest.fixture(scope="session")
def pvmatrix(build_dir):
    cli = build_dir / "pvmatrix"
    if not os.access(cli, os.X_OK):
        pytest.fail(f"{cli} is missing: build first (cmake -S . -B build && cmake --build build)")
    return cli


@pytest.fixture(scope="session")
def cell(pvmatrix, images):
    """cell(*args) runs `pvmatrix cell ARGS` against the build's images and returns a CellRun."""

    def run(*args, timeout=120):
        args = ["cell", "--images", str(images), *map(str, args)]
        proc = subprocess.run([str(pvmatrix), *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        return CellRun(args, proc)

    return run


@pytest.fixture(scope="session")
def dummy_rom(tmp_path_factory):
    """A file to hand test guests as their ROM (they never read it), so they need no built ROM."""
    path = tmp_path_factory.mktemp("rom") / "dummy.rom"
    path.write_bytes(b"\0" * 512)
    return path


@pytest.fixture(scope="session")
def fixture_guest(images):
    """fixture_guest(name) -> the kernel name of test guest build/images/fixture-<name>.elf."""

    def get(name):
        image = images / f"fixture-{name}.elf"
        if not image.exists():
            pytest.fail(f"{image} is missing: tests/fixtures/ builds it with the guest_images target")
        return f"fixture-{name}"

    return get
