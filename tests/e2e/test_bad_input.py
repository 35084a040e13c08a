"""The bad-input corpus (tests/fixtures/bad-input/, written by make_corpus.py): malformed matrix
files (m-*.json) and known-issue files (k-*.json). Each must end `pvmatrix run` with exit 2 and
an error naming the file and where (file:line:col, or the field path), with the fragments of its
.expect sidecar: never a crash, never a run on silently defaulted values."""
import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

CORPUS = REPO / "tests" / "fixtures" / "bad-input"
MATRICES = sorted(CORPUS.glob("m-*.json"))
KNOWN_ISSUES = sorted(CORPUS.glob("k-*.json"))
LOCATION = re.compile(r":\d+:\d+: ")


def test_the_corpus_is_big_enough():
    assert len(MATRICES) + len(KNOWN_ISSUES) >= 50
    for f in MATRICES + KNOWN_ISSUES:
        assert f.with_suffix(".expect").exists(), f"{f.name} has no .expect"


def run_dry(pvmatrix, images, matrix, out):
    return subprocess.run([str(pvmatrix), "run", str(matrix), "--dry-run", "--images", str(images), "--out", str(out)],
                          capture_output=True, timeout=60, stdin=subprocess.DEVNULL)


def check(proc, bad_file, out):
    stderr = proc.stderr.decode("utf-8", "replace")
    report = f"rc={proc.returncode}\nstderr:\n{stderr}\nstdout:\n{proc.stdout.decode('utf-8', 'replace')}"
    assert proc.returncode != -signal.SIGSEGV and proc.returncode >= 0, "killed by a signal: " + report
    assert "terminate called" not in stderr and "Sanitizer" not in stderr, report
    assert proc.returncode == 2, report
    assert bad_file.name in stderr, report
    for fragment in bad_file.with_suffix(".expect").read_text().splitlines():
        if fragment:
            assert fragment in stderr, f"missing {fragment!r}: " + report
    # Located: file:line:col, or at least the field path (the part before the message).
    assert LOCATION.search(stderr) or re.search(r"\.json: [\w\[\].]+: ", stderr), report
    assert not (out / "report.json").exists(), "a report was written from a bad input"


@pytest.mark.parametrize("matrix", MATRICES, ids=lambda p: p.stem)
def test_a_bad_matrix_is_a_located_usage_error(pvmatrix, images, tmp_path, matrix):
    check(run_dry(pvmatrix, images, matrix, tmp_path / "out"), matrix, tmp_path / "out")


@pytest.mark.parametrize("known", KNOWN_ISSUES, ids=lambda p: p.stem)
def test_a_bad_known_issue_file_is_a_located_usage_error(pvmatrix, images, tmp_path, known):
    matrix = tmp_path / "matrix.json"
    matrix.write_text(json.dumps({"kernels": ["2.6.24"], "hypervisors": ["rom-1.13"],
                                  "known_issues": [str(known)]}))
    check(run_dry(pvmatrix, images, matrix, tmp_path / "out"), known, tmp_path / "out")
