"""pytest driver for pvmatrix: each matrix cell is a pytest item.

    python3 -m pytest --pvmatrix matrix/nightly.json -n 2 --junitxml out/junit.xml

The plugin is thin (STYLE.md "pytest plugins"); every decision is the C++ core's:

    collect   `pvmatrix list MATRIX --json`                      -> one CellItem per cell
    run       `pvmatrix run MATRIX --only ID --out DIR/.cells/ID` -> that report's one cell
              object: booted as `pvmatrix run` boots it (timeout, retries, known issues)
    report    `pvmatrix run MATRIX --from-cells CELLS.jsonl --out DIR`
              -> report.json / report.html / junit.xml / summary.md, as `pvmatrix run` writes them

Python only maps a cell's final status to a pytest outcome and carries cell objects from
xdist workers to the controller (as an attribute of the setup report, which xdist serializes).
No guest output is parsed, nothing is classified, no report is written here.

Without `--pvmatrix` the plugin only adds its options: other suites are untouched.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

# Seconds a core command gets to exit after SIGTERM before SIGKILL (it must stop its QEMUs).
_TERMINATE_GRACE_S = 10.0
# Seconds a core command may take beyond its cells' own timeouts before it is stopped.
_CORE_SLACK_S = 120.0
# Attribute of a TestReport carrying the cell object (a JSON string) to the controller.
_REPORT_ATTR = "pvmatrix_cell"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pvmatrix", "pvmatrix: every matrix cell is a test item")
    group.addoption(
        "--pvmatrix", metavar="MATRIX", dest="pvmatrix_matrix", default=None,
        help="run the cells of this matrix file (e.g. matrix/nightly.json) as test items")
    group.addoption(
        "--pvmatrix-out", metavar="DIR", dest="pvmatrix_out", default="out/pytest",
        help="where the core writes report.json/report.html/junit.xml/summary.md and the "
             "serial logs (default: out/pytest)")
    group.addoption(
        "--pvmatrix-backend", dest="pvmatrix_backend", choices=("qemu", "libvirt"), default="qemu",
        help="how cells boot: qemu (direct exec) or libvirt (default: qemu)")
    group.addoption(
        "--pvmatrix-bin", metavar="PATH", dest="pvmatrix_bin", default=None,
        help="the pvmatrix binary (default: env PVMATRIX_BIN, else <rootdir>/build/pvmatrix)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("pvmatrix_matrix") is None:
        return
    driver = MatrixDriver.from_config(config)
    config.pluginmanager.register(driver, "pvmatrix-driver")
    config.stash[_DRIVER_KEY] = driver
    # Collect the matrix instead of the default test paths (the invocation directory or
    # testpaths); explicit paths on the command line are collected too.
    matrix = str(driver.matrix)
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        if matrix not in (str(Path(a).resolve()) for a in config.args):
            config.args.append(matrix)
    else:
        config.args[:] = [matrix]


_DRIVER_KEY = pytest.StashKey["MatrixDriver"]()


class CoreError(Exception):
    """The core could not answer (bad exit, no JSON): a harness problem, never a cell result."""


class CellFailed(pytest.fail.Exception):
    """An unexpected cell failure; its text is the cell's evidence and reproduce command."""

    def __init__(self, text: str) -> None:
        super().__init__(text, pytrace=False)
        self.text = text


class MatrixDriver:
    """Talks to the C++ core for one session; registered as a plugin when --pvmatrix is given."""

    def __init__(self, config: pytest.Config, matrix: Path, binary: Path, out: Path, backend: str):
        self.config = config
        self.matrix = matrix
        self.binary = binary
        self.out = out
        self.backend = backend
        self.is_worker = hasattr(config, "workerinput")  # an xdist worker, not the controller
        self.cells: Dict[str, str] = {}   # cell id -> cell object (JSON text), on the controller
        self.summary_lines: List[str] = []
        self.report_failed = False
        # status name -> pytest outcome, from the core's status table (`list --json`).
        self.outcomes: Dict[str, str] = {}

    @classmethod
    def from_config(cls, config: pytest.Config) -> "MatrixDriver":
        here = config.invocation_params.dir
        matrix = (here / config.getoption("pvmatrix_matrix")).resolve()
        if not matrix.is_file():
            raise pytest.UsageError(f"--pvmatrix: matrix file not found: {matrix}")
        given = config.getoption("pvmatrix_bin") or os.environ.get("PVMATRIX_BIN")
        binary = (here / given) if given else config.rootpath / "build" / "pvmatrix"
        binary = binary.resolve()
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            how = "--pvmatrix-bin" if config.getoption("pvmatrix_bin") else \
                  "env PVMATRIX_BIN" if os.environ.get("PVMATRIX_BIN") else "the default"
            raise pytest.UsageError(
                f"--pvmatrix: no pvmatrix binary at {binary} (from {how}); build it with "
                f"`cmake -S {config.rootpath} -B build && cmake --build build`, or name one with "
                f"--pvmatrix-bin PATH / env PVMATRIX_BIN")
        out = (here / config.getoption("pvmatrix_out")).resolve()
        return cls(config, matrix, binary, out, config.getoption("pvmatrix_backend"))

    # ---- talking to the core ------------------------------------------------------------

    def core(self, *args: str, timeout: Optional[float] = None) -> subprocess.CompletedProcess:
        """Runs `pvmatrix ARGS`; an interrupt or timeout stops it (and so its QEMUs) first."""
        argv = [str(self.binary), *args]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException as e:
            _stop(proc)
            if isinstance(e, subprocess.TimeoutExpired):
                raise CoreError(f"`{shlex.join(argv)}` did not finish within {timeout:.0f}s") from None
            raise
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)

    def list_cells(self) -> List[Dict[str, Any]]:
        proc = self.core("list", str(self.matrix), "--json")
        data = _parse_json(proc)
        cells = data.get("cells") if isinstance(data, dict) else data
        if not isinstance(cells, list) or not all(isinstance(c, dict) and "id" in c for c in cells):
            raise CoreError(f"`{shlex.join(proc.args)}` did not print a list of cells with ids")
        statuses = data.get("statuses") if isinstance(data, dict) else None
        if not isinstance(statuses, list) or not all(isinstance(st, dict) and "name" in st for st in statuses):
            raise CoreError(f"`{shlex.join(proc.args)}` did not print the status table")
        self.outcomes = {st["name"]: _outcome(st) for st in statuses}
        return cells

    def run_cell(self, cell_id: str, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Boots one cell exactly as `pvmatrix run` boots it (timeout, retries, known issues),
        in a directory of its own (xdist workers run cells side by side), and returns its
        cell object. Its serial logs then move beside the session's report, where the cell
        object says they are."""
        work = self.out / ".cells" / cell_id  # ids are kernel=K/hv=V/cfg=C: a tree, not a name
        shutil.rmtree(work, ignore_errors=True)
        # One cell is not a run of the matrix: the session's report records the history.
        proc = self.core("run", str(self.matrix), "--only", cell_id, "--out", str(work), "--jobs", "1",
                         "--backend", self.backend, "--history", "none", timeout=timeout)
        try:
            cells = json.loads((work / "report.json").read_text(encoding="utf-8"))["cells"]
            cell = next(c for c in cells if c.get("id") == cell_id and "status" in c)
        except (OSError, ValueError, KeyError, TypeError, StopIteration):
            err = proc.stderr.strip() or "(no output on stderr)"
            raise CoreError(f"`{shlex.join(proc.args)}` exited {proc.returncode} without a report "
                            f"holding {cell_id}:\n{err}") from None
        for log in sorted((work / "logs").rglob("*")):
            if log.is_file():
                dest = self.out / log.relative_to(work)
                dest.parent.mkdir(parents=True, exist_ok=True)
                log.replace(dest)
        shutil.rmtree(work, ignore_errors=True)
        return cell

    def write_reports(self) -> None:
        """Hands the collected cell objects to the core, which writes the reports."""
        self.out.mkdir(parents=True, exist_ok=True)
        cells_file = self.out / "cells.jsonl"
        tmp = cells_file.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(text + "\n" for text in self.cells.values()), encoding="utf-8")
        tmp.replace(cells_file)
        proc = self.core("run", str(self.matrix), "--from-cells", str(cells_file), "--out", str(self.out),
                         "--backend", self.backend)
        if proc.returncode not in (0, 1):  # 1 = the report holds unexpected failures
            self.report_failed = True
            self.summary_lines.append(
                f"pvmatrix: writing the reports failed (exit {proc.returncode}): "
                f"`{shlex.join(proc.args)}`\n{proc.stderr.strip()}")
            return
        said = [line for line in proc.stdout.splitlines() if line.strip()]
        self.summary_lines.append(said[-1] if said else  # the core's own counts line
                                  f"pvmatrix: {len(self.cells)} cell(s) -> {self.out}/report.json")

    # ---- hooks ------------------------------------------------------------------------

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector):
        if file_path == self.matrix:
            return MatrixFile.from_parent(parent, path=file_path)
        return None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        if not isinstance(item, CellItem) or call.when != "setup" or item.result is None:
            return
        report = outcome.get_result()
        # The cell object rides on the setup report: xdist serializes report attributes.
        setattr(report, _REPORT_ATTR, json.dumps(item.result))
        if report.skipped:  # show the matrix file as the skip's location, not this plugin
            report.longrepr = (str(item.path), 1, item.result.get("reason") or "cell skipped")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        text = getattr(report, _REPORT_ATTR, None)
        if text is not None and not self.is_worker:
            self.cells[json.loads(text)["id"]] = text

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.is_worker or not self.cells or self.config.option.collectonly:
            return
        shutil.rmtree(self.out / ".cells", ignore_errors=True)
        try:
            self.write_reports()
        except CoreError as e:
            self.report_failed = True
            self.summary_lines.append(f"pvmatrix: writing the reports failed: {e}")
        if self.report_failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def pytest_terminal_summary(self, terminalreporter) -> None:
        for line in self.summary_lines:
            terminalreporter.write_line(line, red=self.report_failed)


class MatrixFile(pytest.File):
    """The matrix file: its cells, as the core expands them, in the core's order."""

    def collect(self):
        driver: MatrixDriver = self.config.stash[_DRIVER_KEY]
        try:
            cells = driver.list_cells()
        except CoreError as e:
            raise self.CollectError(str(e)) from None
        for cell in cells:
            yield CellItem.from_parent(self, name=cell["id"], cell=cell)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, self.CollectError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class CellItem(pytest.Item):
    """One cell. setup() boots it through the core; runtest() maps the final status."""

    def __init__(self, *, cell: Dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cell = cell                             # as `pvmatrix list --json` describes it
        self.result: Optional[Dict[str, Any]] = None  # the cell object, once booted
        # -k matches substrings of the id already; the axis values are keywords too, so
        # `-k "2.6.25 and rom-1.12"` reads naturally.
        for key in ("kernel", "hv", "config"):
            if isinstance(cell.get(key), str):
                self.extra_keyword_matches.add(cell[key])

    def setup(self) -> None:
        driver: MatrixDriver = self.config.stash[_DRIVER_KEY]
        try:
            self.result = driver.run_cell(self.name, timeout=self.safety_timeout())
        except CoreError as e:
            pytest.fail(f"harness error: {e}", pytrace=False)  # setup failure = pytest error
        status = self.result["status"]
        self.user_properties.append(("status", status))
        self.user_properties.append(("attempts", len(self.result.get("attempts") or [])))
        if status == "FLAKY":
            self.user_properties.append(
                ("attempt_statuses", ",".join(a.get("status", "?") for a in self.result["attempts"])))
        outcome = driver.outcomes.get(status)
        if outcome == "error":
            # Infrastructure, never the kernel's fault: reported as an error, not a failure.
            pytest.fail(_failure_text(self.result), pytrace=False)
        if outcome == "skipped":
            pytest.skip(self.result.get("reason") or "cell skipped")

    def safety_timeout(self) -> Optional[float]:
        """Seconds after which a core that never answers is stopped: far beyond every attempt's
        own timeout, which the core enforces (a HANG is its verdict, not ours)."""
        per_attempt = self.cell.get("timeout_s")
        if not isinstance(per_attempt, (int, float)):
            return None
        return per_attempt * (int(self.cell.get("retries") or 0) + 1) * 2 + _CORE_SLACK_S

    def runtest(self) -> None:
        assert self.result is not None
        status = self.result["status"]
        outcome = self.config.stash[_DRIVER_KEY].outcomes.get(status)
        if outcome == "passed":
            return
        if outcome == "xfailed":
            pytest.xfail(_expected_text(self.result))
        if outcome == "failed":
            raise CellFailed(_failure_text(self.result))
        raise CellFailed(f"unknown cell status {status!r}\n" + _failure_text(self.result))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CellFailed):
            return excinfo.value.text
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, 0, self.name


def _outcome(status: Dict[str, Any]) -> str:
    """What pytest shows for a final cell status, from its row of the core's status table
    (docs/contracts.md "Cell object", `status`): an unexpected failure fails the item, unless
    the boot said nothing about the kernel (ERROR: infrastructure, a pytest error); an expected
    failure is an xfail; a working cell passes; the rest (SKIP) is skipped."""
    if status.get("unexpected"):
        return "failed" if status.get("works") or status.get("broken") else "error"
    if status.get("works"):
        return "passed"
    if status.get("broken"):
        return "xfailed"
    return "skipped"


def _failure_text(cell: Dict[str, Any]) -> str:
    lines = [f"{cell['status']}: {cell.get('reason') or '(no reason given)'}"]
    if cell["status"] == "XPASS":
        lines.append(f"expected {cell.get('expected')}: {_expected_text(cell)}")
    if cell.get("stage"):
        lines.append(f"last stage: {cell['stage']}")
    failed = [p for p in cell.get("probes") or [] if p.get("status") == "fail"]
    for p in failed:
        call = f" (call {p['call']})" if p.get("call") is not None else ""
        lines.append(f"probe {p.get('id')} failed{call}: {p.get('detail', '')}")
    if cell.get("evidence"):
        lines += ["evidence:", *("  " + line for line in str(cell["evidence"]).splitlines())]
    if cell.get("log"):
        lines.append(f"log: {cell['log']}")
    if cell.get("reproduce"):
        lines.append(f"reproduce: {cell['reproduce']}")
    return "\n".join(lines)


def _expected_text(cell: Dict[str, Any]) -> str:
    reason = cell.get("expected_reason") or f"expected {cell.get('expected')}"
    return f"{reason} ({cell['expected_link']})" if cell.get("expected_link") else reason


def _parse_json(proc: subprocess.CompletedProcess) -> Any:
    try:
        return json.loads(proc.stdout)
    except ValueError:
        err = proc.stderr.strip() or "(no output on stderr)"
        raise CoreError(f"`{shlex.join(proc.args)}` exited {proc.returncode} without JSON:\n{err}") from None


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the core's process group (so it stops its QEMUs), then SIGKILL if it lingers."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=_TERMINATE_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()
