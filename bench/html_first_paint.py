#!/usr/bin/env python3
"""First paint and time to interactive of report.html for a large synthetic report.

Builds an N-cell report (tests/fixtures/reports/make_reports.py synthetic(): kernels x versions
x 5 configs), renders it with build/html_report_render (the renderer `pvmatrix report` uses),
opens it from file:// in headless Debian chromium through chromedriver, and measures, per run:

  render_ms      C++ report.json -> report.html (the process, including JSON parsing)
  first_paint    the browser's first-paint entry, ms from navigation start
  fcp            first-contentful-paint
  interactive    the report script's 'pvm-ready' mark: data parsed, header, filters, grid,
                 web drawn, handlers attached
  filter_ms      one status filter applied (chip click -> grid redrawn and laid out), in the page
  *_render_ms    the report script's own redraw of that interaction (its 'pvm-render' measure)
  search_applied_ms  one text search typed -> grid redrawn (includes the 120 ms debounce)
  all_configs_ms switch to every config's grid at once (all N cells drawn)
  longest_task   the longest main-thread task during load (Long Tasks API), ms

Prints the medians and writes every run as JSON (--out, default <build>/bench/html_first_paint.json).
Speed is measured here, never asserted in a test.

  /usr/bin/python3 bench/html_first_paint.py [--cells 2000] [--runs 5] [--build build]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))
sys.path.insert(0, str(REPO / "tests" / "fixtures" / "reports"))

import make_reports  # noqa: E402
from webdriver import Browser  # noqa: E402

LONGTASK_OBSERVER = """
window.__pvm_longtasks = [];
try {
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) { window.__pvm_longtasks.push(e.duration); });
  }).observe({type: 'longtask', buffered: true});
} catch (err) {}
"""

MEASURE_LOAD = """
const paint = {};
performance.getEntriesByType('paint').forEach(e => { paint[e.name] = e.startTime; });
const ready = performance.getEntriesByName('pvm-ready')[0];
const start = performance.getEntriesByName('pvm-script-start')[0];
return {first_paint: paint['first-paint'] ?? null, fcp: paint['first-contentful-paint'] ?? null,
        interactive: ready ? ready.startTime : null, script_start: start ? start.startTime : null,
        dom_content_loaded: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
        longest_task: Math.max(0, ...window.__pvm_longtasks),
        cells: document.querySelectorAll('button.cell').length};
"""

# Each interaction is synchronous in the page (event -> state -> grid redrawn), so the time
# around dispatching it is the time the user waits (layout forced with offsetHeight).
MEASURE_INTERACTIONS = """
function lastRender() { const m = performance.getEntriesByName('pvm-render'); return m.length ? m[m.length - 1].duration : null; }
function timed(f) { const t0 = performance.now(); f(); document.body.offsetHeight; return performance.now() - t0; }
const out = {};
out.filter_ms = timed(() => document.querySelector('#status-counts button[data-status="FAIL"]').click());
out.filter_render_ms = lastRender();
out.filtered_cells = document.querySelectorAll('button.cell').length;
document.querySelector('#reset-filters').click();
out.all_configs_ms = timed(() => document.querySelector('button[data-config="all"]').click());
out.all_cells = document.querySelectorAll('button.cell').length;
return out;
"""

# Typing in the search box: debounced (120 ms), then the grid is redrawn; measured from the
# input event to the redrawn grid, debounce included.
SEARCH_APPLIED = """
const done = arguments[arguments.length - 1];
const q = document.getElementById('search');
const before = document.querySelectorAll('button.cell').length;
q.value = 'cfg=native-mmu';
const t0 = performance.now();
q.dispatchEvent(new Event('input'));
(function poll() {
  const n = document.querySelectorAll('button.cell').length;
  if (n !== before) {
    document.body.offsetHeight;
    const m = performance.getEntriesByName('pvm-render');
    done([performance.now() - t0, m[m.length - 1].duration]);
    return;
  }
  setTimeout(poll, 1);
})();
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--build", default=os.environ.get("PVMATRIX_BUILD", str(REPO / "build")))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    build = Path(args.build)
    tool = build / "html_report_render"
    if not tool.exists():
        sys.exit(f"{tool} is missing: build first")
    out_path = Path(args.out) if args.out else build / "bench" / "html_first_paint.json"

    with tempfile.TemporaryDirectory(prefix="pvm-bench-html-") as tmp:
        run(args, tool, out_path, Path(tmp))


def run(args, tool, out_path, work):
    report = work / "report.json"
    report.write_text(json.dumps(make_reports.synthetic(args.cells)))
    html = work / "report.html"
    render_ms = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        subprocess.run([str(tool), str(report), "-o", str(html)], check=True)
        render_ms.append((time.perf_counter() - t0) * 1000)

    runs = []
    with Browser(width=1400, height=1000) as b:
        b.cdp("Page.addScriptToEvaluateOnNewDocument", {"source": LONGTASK_OBSERVER})
        for i in range(args.runs):
            b.get("about:blank")
            b.get(html.as_uri())
            b.wait_for("return document.documentElement.getAttribute('data-ready') === 'true'", 60)
            b.wait_for("return performance.getEntriesByType('paint').length >= 2", 10)
            load = b.execute(MEASURE_LOAD)
            inter = b.execute(MEASURE_INTERACTIONS)
            inter["search_applied_ms"], inter["search_render_ms"] = b.execute_async(SEARCH_APPLIED)
            runs.append(dict(load, **inter, render_ms=render_ms[i]))

    keys = ["render_ms", "first_paint", "fcp", "interactive", "longest_task", "filter_ms", "filter_render_ms",
            "all_configs_ms", "search_applied_ms", "search_render_ms"]
    med = {k: round(statistics.median(r[k] for r in runs if r[k] is not None), 1) for k in keys}
    result = {"cells": args.cells, "runs": len(runs), "html_bytes": html.stat().st_size,
              "chromium": subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True)
              .stdout.strip().splitlines()[-1:], "median": med, "all_runs": runs}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"report.html for {args.cells} cells: {result['html_bytes'] / 1e6:.1f} MB, median of {len(runs)} runs")
    for k in keys:
        print(f"  {k:<18} {med[k]:8.1f} ms")
    print(f"written to {out_path}")


if __name__ == "__main__":
    main()
