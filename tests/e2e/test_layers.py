"""scripts/check_layers.py: the layer rule of docs/architecture.md, on the tree and on a tree
made to break it."""
import subprocess
import sys
from pathlib import Path

from conftest import REPO

CHECK = REPO / "scripts/check_layers.py"


def check(root):
    return subprocess.run([sys.executable, str(CHECK), "--root", str(root)], capture_output=True, text=True)


def test_the_tree_keeps_its_layers():
    p = check(REPO)
    assert p.returncode == 0, p.stdout + p.stderr


def write(root, rel, text):
    path = Path(root) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_an_include_from_a_lower_layer_up_fails_naming_file_line_and_layers(tmp_path):
    write(tmp_path, "hypervisor-versions/rom/include/pvrom/abi.h", "#pragma once\n")
    write(tmp_path, "harness/cell.h", '#pragma once\n#include "pvrom/abi.h"\n')            # core -> abi: down
    write(tmp_path, "reports/run_report.h", '#pragma once\n#include "cell.h"\n')            # reports -> core: down
    write(tmp_path, "harness/cli/cmd_run.cpp", '#include "run_report.h"\n')                # cli -> reports: down
    write(tmp_path, "kernel/main.cpp", '#include "pvrom/abi.h"\n')                          # guest -> abi
    assert check(tmp_path).returncode == 0
    write(tmp_path, "harness/history_store.cpp", '#include <string>\n\n#include "run_report.h"\n')  # core -> reports: up
    write(tmp_path, "kernel/pv/rom.cpp", '#include "cell.h"\n')                              # guest -> core
    p = check(tmp_path)
    assert p.returncode == 1, p.stdout
    assert "harness/history_store.cpp:3: core includes reports/run_report.h (reports)" in p.stdout, p.stdout
    assert "kernel/pv/rom.cpp:1: guest includes harness/cell.h (core)" in p.stdout, p.stdout
    assert "2 include(s) cross a layer" in p.stdout
