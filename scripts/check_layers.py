#!/usr/bin/env python3
"""Fails when an #include crosses a layer downward-up (docs/architecture.md).

Layers, lowest first; a file may include headers of its own layer and of the layers below:
  abi      hypervisor-versions/rom/include/pvrom/   the ROM ABI, freestanding (kernel, ROMs, host)
  core     harness/*.{h,cpp}                        the model, world, launchers, protocol, cache, history
  reports  reports/ (and its generated report_assets.h)   the writers: JSON, JUnit, summary, HTML
  workflows harness/workflows/                      the gate as library code (over a GateEnvironment)
  cli      harness/cli/, hypervisor-versions/rom/tools/   option parsing and printing; the ROM build tools
The guest side (kernel/, hypervisor-versions/rom/ outside include/) may include only its own
headers and the abi layer: it is freestanding code the host never links.

  /usr/bin/python3 scripts/check_layers.py [--root DIR]     exit 0: clean; 1: violations listed
"""
import argparse
import re
import sys
from pathlib import Path

LAYERS = ["abi", "core", "reports", "workflows", "cli"]
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+)"', re.M)
GENERATED = {"report_assets.h": "reports"}  # built into build/reports/generated


def layer_of(rel):
    """The layer of a repository-relative path, or None when it is not layered code."""
    p = rel.as_posix()
    if p.startswith("hypervisor-versions/rom/include/"):
        return "abi"
    if p.startswith("harness/cli/") or p.startswith("hypervisor-versions/rom/tools/"):
        return "cli"  # the CLI, and the host tools that build the ROMs (romgen, romfix)
    if p.startswith("harness/workflows/") and rel.suffix in (".h", ".cpp"):
        return "workflows"
    if p.startswith("harness/") and rel.suffix in (".h", ".cpp") and len(rel.parts) == 2:
        return "core"
    if p.startswith("reports/") and rel.suffix in (".h", ".cpp"):
        return "reports"
    if (p.startswith("kernel/") or p.startswith("hypervisor-versions/rom/")) and rel.suffix in (".h", ".cpp", ".S"):
        return "guest"
    return None


def resolve(root, source, name):
    """The repository-relative path an include names (the including file's directory first, then
    the include directories every layer is given), or None for a system/unknown header."""
    candidates = [source.parent / name, root / "harness" / name, root / "reports" / name,
                  root / "hypervisor-versions/rom/include" / name, root / "harness/workflows" / name,
                  root / "harness/cli" / name]
    for c in candidates:
        if c.is_file():
            return c.resolve().relative_to(root)
    return None


def check(root):
    root = root.resolve()
    problems = []
    files = sorted(p for d in ("harness", "reports", "kernel", "hypervisor-versions/rom") if (root / d).is_dir()
                   for p in (root / d).rglob("*") if p.suffix in (".h", ".cpp", ".S") and p.is_file())
    for f in files:
        rel = f.relative_to(root)
        mine = layer_of(rel)
        if mine is None:
            continue
        text = f.read_text(errors="replace")
        for m in INCLUDE.finditer(text):
            name = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            target = resolve(root, f, name)
            theirs = GENERATED.get(name) if target is None else layer_of(target)
            if theirs is None:
                continue
            if mine == "guest":
                ok = theirs in ("guest", "abi")
            elif theirs == "guest":
                ok = False
            else:
                ok = LAYERS.index(theirs) <= LAYERS.index(mine)
            if not ok:
                problems.append(f"{rel}:{line}: {mine} includes {target or name} ({theirs}): "
                                f"a layer may include only its own and lower layers ({' < '.join(LAYERS)}; "
                                f"guest code: itself and abi)")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    args = ap.parse_args()
    problems = check(Path(args.root))
    for p in problems:
        print(p)
    if problems:
        print(f"check_layers: {len(problems)} include(s) cross a layer downward-up (docs/architecture.md)")
        return 1
    print("check_layers: every include stays in its layer or goes down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
