#!/usr/bin/env python3
"""Mutation test of the per-patch gate (issue 16, part 7): does `pvmatrix gate` catch a break?

Each mutant is a one-line change of its own to the ROM sources (the hypervisor side,
hypervisor-versions/rom/src) or to the kernel's use of the ABI (kernel/pv, kernel/time,
kernel/main.cpp): an operator (== != < <= > >= + - && ||), an integer constant (+1), a register
(%eax <-> %edx ...), a call number (one pvrom::kCall* for its neighbour), true <-> false. Each
is applied to a clone's working tree and gated against the clone's HEAD:

    pvmatrix gate --base HEAD --head HEAD matrix/gate.json     (a dirty head: the mutant)

exit 1 = killed (the gate failed the patch), 0 = survived, 2 = stillborn (does not build) or a
harness error. The gate boots every cell the mutant can affect (the world's cells whose kernel
image or ROM changed), so a survivor is a probe missing or a rule wrong — or an equivalent
mutant (one that changes nothing the spec promises): look at each.

Run on demand (minutes per mutant; not in CI):
    /usr/bin/python3 bench/mutate.py --count 20 --seed 1          # a sample
    /usr/bin/python3 bench/mutate.py --list                        # the candidates only
Writes WORKDIR/results.jsonl (one line per mutant, appended: an interrupted run resumes) and
WORKDIR/report.md (kill rate, every survivor with its diff line).
"""
import argparse
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = ["hypervisor-versions/rom/src/*.cpp", "hypervisor-versions/rom/src/*.h",
         "kernel/pv/*.cpp", "kernel/time/*.cpp", "kernel/main.cpp"]

# (name, pattern, replacement): applied to one occurrence on one line.
OPERATORS = [
    ("==", r"==", "!="), ("!=", r"!=", "=="),
    ("<", r"(?<=\s)<(?=\s)", "<="), ("<=", r"(?<=\s)<=(?=\s)", "<"),
    (">", r"(?<=\s)>(?=\s)", ">="), (">=", r"(?<=\s)>=(?=\s)", ">"),
    ("+", r"(?<=\s)\+(?=\s)", "-"), ("-", r"(?<=\s)-(?=\s)", "+"),
    ("&&", r"&&", "||"), ("||", r"\|\|", "&&"),
    ("true", r"\btrue\b", "false"), ("false", r"\bfalse\b", "true"),
]
REGISTERS = ["eax", "ebx", "ecx", "edx", "esi", "edi"]


def code_part(line):
    """The line without its // comment; None for lines not worth mutating."""
    s = line.strip()
    if not s or s.startswith(("//", "#", "*", "/*")) or "static_assert" in s:
        return None
    return line.split("//", 1)[0]


def outside_strings(line, start, end):
    """True if [start, end) is not inside a "string literal" (assembler strings count as code)."""
    quotes = [m.start() for m in re.finditer(r'(?<!\\)"', line[:start])]
    inside = len(quotes) % 2 == 1
    if not inside:
        return True
    return "asm" in line or line.strip().startswith('"')  # an inline-assembly line: its text is code


def candidates(call_names):
    out = []
    for pattern in FILES:
        for path in sorted(REPO.glob(pattern)):
            rel = str(path.relative_to(REPO))
            for n, line in enumerate(path.read_text().splitlines(), 1):
                code = code_part(line)
                if code is None:
                    continue
                for name, pat, rep in OPERATORS:
                    for m in re.finditer(pat, code):
                        if outside_strings(line, m.start(), m.end()):
                            out.append((rel, n, m.start(), m.end(), rep, f"{name} -> {rep}"))
                for m in re.finditer(r"(?<![\w.])(\d+)(?![\w.])", code):
                    v = int(m.group(1))
                    if 0 < v <= 4096 and outside_strings(line, m.start(), m.end()) and "[" not in code[m.start() - 1:m.start()]:
                        out.append((rel, n, m.start(), m.end(), str(v + 1), f"constant {v} -> {v + 1}"))
                for m in re.finditer(r"(?<=%)(eax|ebx|ecx|edx|esi|edi)\b", code):
                    reg = m.group(1)
                    other = REGISTERS[(REGISTERS.index(reg) + 1) % len(REGISTERS)]
                    out.append((rel, n, m.start(), m.end(), other, f"register {reg} -> {other}"))
                for m in re.finditer(r"pvrom::(kCall\w+)", code):
                    i = call_names.index(m.group(1)) if m.group(1) in call_names else -1
                    if i >= 0:
                        other = call_names[(i + 1) % len(call_names)]
                        out.append((rel, n, m.start(), m.end(), "pvrom::" + other, f"call {m.group(1)} -> {other}"))
    return out


def call_names():
    abi = (REPO / "hypervisor-versions/rom/include/pvrom/abi.h").read_text()
    return re.findall(r"^\s*(kCall\w+)\s*=\s*\d+", abi, re.M)


def sh(*argv, cwd=None, timeout=None):
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=20, help="mutants to try (a seeded sample of the candidates)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", default="/tmp/pvmatrix-mutate")
    ap.add_argument("--pvmatrix", default=str(REPO / "build/pvmatrix"))
    ap.add_argument("--matrix", default="matrix/gate.json")
    ap.add_argument("--world", default="bench/mutate-world.json",
                    help="the gate's --world (in the clone); a matrix without Xen and real kernels is minutes faster per mutant")
    ap.add_argument("--list", action="store_true", help="print the candidates and stop")
    args = ap.parse_args()

    cands = candidates(call_names())
    if args.list:
        for c in cands:
            print(f"{c[0]}:{c[1]}: {c[5]}")
        print(f"{len(cands)} candidates", file=sys.stderr)
        return 0
    rng = random.Random(args.seed)
    sample = rng.sample(cands, min(args.count, len(cands)))

    work = Path(args.workdir)
    repo = work / "repo"
    if not (repo / ".git").exists():
        work.mkdir(parents=True, exist_ok=True)
        sh("git", "clone", "-q", "--no-hardlinks", REPO, repo).check_returncode()
    results_path = work / "results.jsonl"
    done = {}
    if results_path.exists():
        for line in results_path.read_text().splitlines():
            r = json.loads(line)
            done[r["id"]] = r
    head = sh("git", "-C", repo, "rev-parse", "HEAD").stdout.strip()
    print(f"mutate: {len(cands)} candidates, {len(sample)} sampled (seed {args.seed}), gating against {head[:12]}, "
          f"world {args.world}")
    results = []
    for i, (rel, line_no, start, end, rep, what) in enumerate(sample, 1):
        mid = f"{rel}:{line_no}:{start}:{what}"
        if mid in done and done[mid]["head"] == head:
            results.append(done[mid])
            continue
        sh("git", "-C", repo, "checkout", "--", ".").check_returncode()
        path = repo / rel
        lines = path.read_text().split("\n")
        original = lines[line_no - 1]
        lines[line_no - 1] = original[:start] + rep + original[end:]
        path.write_text("\n".join(lines))
        t0 = time.monotonic()
        p = sh(args.pvmatrix, "gate", "--base", "HEAD", "--head", "HEAD", args.matrix, "--out", work / "out" / str(i),
               "--workdir", work / "gatework", "--cache", work / "cache", "--world", args.world, cwd=repo, timeout=3600)
        wall = time.monotonic() - t0
        outcome = {0: "survived", 1: "killed"}.get(p.returncode, "stillborn")
        counts = re.search(r"^(\d+ [A-Z_]+(?:, \d+ [A-Z_]+)*)\.", p.stdout, re.M)
        booted = re.findall(r"gate: (base|head): (\d+) cells, (-?\d+) booted", p.stdout)
        r = {"id": mid, "head": head, "file": rel, "line": line_no, "mutation": what, "before": original.strip(),
             "after": lines[line_no - 1].strip(), "outcome": outcome, "exit": p.returncode,
             "verdicts": counts.group(1) if counts else "", "booted": {s: int(b) for s, _, b in booted},
             "wall_s": round(wall, 1),
             "why": (p.stderr.strip().splitlines() or [""])[0][:300] if outcome == "stillborn" else ""}
        with results_path.open("a") as f:
            f.write(json.dumps(r) + "\n")
        results.append(r)
        print(f"[{i}/{len(sample)}] {outcome:9} {rel}:{line_no} {what} ({wall:.0f} s){'  ' + r['verdicts'] if r['verdicts'] else ''}",
              flush=True)
    sh("git", "-C", repo, "checkout", "--", ".")

    killed = [r for r in results if r["outcome"] == "killed"]
    survived = [r for r in results if r["outcome"] == "survived"]
    stillborn = [r for r in results if r["outcome"] == "stillborn"]
    judged = len(killed) + len(survived)
    rate = 100.0 * len(killed) / judged if judged else 0.0
    md = [f"# pvmatrix gate mutation test ({time.strftime('%Y-%m-%d')}, against {head[:12]}, seed {args.seed}, "
          f"gate {args.matrix}, world {args.world})", "",
          f"{len(results)} mutants: {len(killed)} killed, {len(survived)} survived, {len(stillborn)} stillborn "
          f"(do not build). Kill rate {rate:.0f}% of {judged}.", "",
          "| outcome | where | mutation | line after | verdicts |", "|---|---|---|---|---|"]
    for r in sorted(results, key=lambda r: ("survived", "killed", "stillborn").index(r["outcome"])):
        md.append(f"| {r['outcome']} | {r['file']}:{r['line']} | {r['mutation']} | `{r['after'][:90]}` | {r['verdicts'] or r['why']} |")
    (work / "report.md").write_text("\n".join(md) + "\n")
    print("\n".join(md[:3]))
    print(f"mutate: {work / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
