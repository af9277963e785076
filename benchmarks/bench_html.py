"""Benchmark of the HTML views: build time, file size and browser load time of trace pages of growing size and of
a report page with the level-collapse figure, as ratios to the smallest trace page measured in the same run.

Run by hand: ``python benchmarks/bench_html.py [--steps 20,100,300] [--tokens-per-step 27] [--loads 5]``. The
traces are synthetic (reasongraph.analysis.synthetic: real Trace, real analysis, generated text and hidden states), so
no model is needed. Load time is the browser's own navigation timing (``loadEventEnd``: parse, scripts, the view
drawn, first layout) in headless Debian Chromium; draw time is the view alone (parse the data island and draw it
again into its root, then lay it out). One fresh page per load; the pages take turns, after one warm-up round. An
empty page gives the browser's fixed cost of a fresh page.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ENTRY = {"trace": "renderTrace", "report": "renderReport"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default="20,100,300", help="trace sizes in steps, comma-separated (default 20,100,300)")
    ap.add_argument("--tokens-per-step", type=int, default=27)
    ap.add_argument("--report-rows", type=int, default=400, help="rows of the report page (default 400)")
    ap.add_argument("--loads", type=int, default=5, help="loads per page after the warm-up (default 5)")
    ap.add_argument("--out", help="keep the pages in this folder (default: a temporary folder)")
    args = ap.parse_args()

    folder = Path(args.out or tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    pages = [_trace_page(i, int(s), args.tokens_per_step, folder) for i, s in enumerate(args.steps.split(","))]
    pages.append(_report_page(args.report_rows, folder))
    empty = folder / "empty.html"  # the browser's fixed cost of a fresh page
    empty.write_text("<!DOCTYPE html><title>empty</title><div class='rg-root' id='e'></div>"
                     "<script type='application/json' id='e-data'>{}</script>", encoding="utf-8")
    pages.append({"name": "empty page", "kind": None, "path": empty, "tokens": None, "build_ms": 0.0})
    timings = _browser_loads(pages, args.loads)
    _print_table(pages, timings)


def _trace_page(index: int, steps: int, tokens_per_step: int, folder: Path) -> dict:
    from reasongraph.html.write import trace_html
    from reasongraph.html.trace_view import trace_payload
    from reasongraph.analysis.synthetic import synthetic_analysis

    an = synthetic_analysis(n_steps=steps, tokens_per_step=tokens_per_step, seed=0)
    t0 = time.perf_counter()
    html = trace_html(trace_payload(an))
    build = time.perf_counter() - t0
    path = folder / f"trace{index}_{steps}.html"
    path.write_text(html, encoding="utf-8")
    return {"name": f"trace, {steps} steps", "kind": "trace", "path": path, "tokens": an.trace.n_tokens,
            "build_ms": 1000 * build}


def _report_page(n_rows: int, folder: Path) -> dict:
    """A report of n_rows rows in two groups, with a level-collapse section of 8 measures."""
    import numpy as np

    from reasongraph.html.write import report_html
    from reasongraph.html.report_view import report_payload

    rng = np.random.default_rng(0)
    rows = []
    for i in range(n_rows):
        loops = int(rng.poisson(1))
        rows.append({"line": i + 1, "id": f"t{i}", "group": ("base", "rl")[i % 2], "loop_exists": loops > 0,
                     "loop_count": loops, "n_revisits": loops + int(rng.poisson(2)),
                     "mean_entropy": float(rng.gamma(3, 0.1)), "effective_rank": float(rng.normal(30, 4)),
                     "n_hidden_only": int(rng.poisson(1))})
    t0 = time.perf_counter()
    payload = report_payload(rows)
    ratios = np.exp(rng.normal(0, 0.6, 8))
    payload["collapse"] = {
        "a": "base", "b": "rl", "mode": "faithful", "n_pairs": n_rows // 2,
        "rows": [{"key": f"m{j}", "label": f"measure {j}", "level": "token" if j < 4 else "hidden", "mean_a": 1.0,
                  "mean_b": r, "ratio": r, "ci_low": r * 0.8, "ci_high": r * 1.25, "p": 0.01, "test": "wilcoxon",
                  "n": n_rows // 2, "note": None} for j, r in enumerate(ratios)],
        "summary": {k: {"value": 0.1, "ci_low": 0.0, "ci_high": 0.2}
                    for k in ("token_collapse", "hidden_collapse_erank", "hidden_collapse_spread", "difference_erank",
                              "difference_spread")},
        "coupling": {"base": 0.1, "rl": -0.1}}
    html = report_html(payload)
    build = time.perf_counter() - t0
    path = folder / "report.html"
    path.write_text(html, encoding="utf-8")
    return {"name": f"report, {n_rows} rows + collapse", "kind": "report", "path": path, "tokens": None,
            "build_ms": 1000 * build}


def _browser_loads(pages: list[dict], loads: int) -> dict | str:
    """{page path: (load ms list, draw ms list)}, or why there are none."""
    if not os.path.exists(CHROMIUM):
        return f"skipped: {CHROMIUM} is missing"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "skipped: playwright is not installed"
    out = {p["path"]: ([], []) for p in pages}
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM,
                               args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for i in range(loads + 1):
            for p in pages:  # the pages take turns, so a slow moment of a shared machine hits them all alike
                page = b.new_page(viewport={"width": 1440, "height": 1000})
                page.goto(p["path"].as_uri())
                load = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
                draw = page.evaluate("""entry => { const r = document.querySelector('.rg-root');
                    const t = performance.now();
                    const d = JSON.parse(document.getElementById(r.id + '-data').textContent);
                    if (entry) window.ReasonGraph[entry](r, d); r.offsetHeight; return performance.now() - t; }""",
                                     ENTRY.get(p["kind"]))
                if i:  # the first round warms the browser up
                    out[p["path"]][0].append(load)
                    out[p["path"]][1].append(draw)
                page.close()
        out["browser"] = f"chromium {b.version}"
        b.close()
    return out


def _print_table(pages: list[dict], timings: dict | str) -> None:
    base = pages[0]
    header = f"{'page':34s} {'tokens':>7s} {'KB':>5s} {'build ms':>8s} {'load med':>8s} {'load min':>8s} " \
             f"{'draw med':>8s} {'min/1k tok':>10s} {'ratio':>6s}"
    print(header)
    print("-" * len(header))
    for p in pages:
        kb = p["path"].stat().st_size / 1024
        cells = [f"{p['name']:34s}", f"{p['tokens'] or '':>7}", f"{kb:5.0f}", f"{p['build_ms']:8.1f}"]
        if isinstance(timings, dict):
            loads, draws = timings[p["path"]]
            per_k = f"{1000 * min(loads) / p['tokens']:10.1f}" if p["tokens"] else f"{'':10s}"
            ratio = min(loads) / min(timings[base["path"]][0])
            cells += [f"{statistics.median(loads):8.1f}", f"{min(loads):8.1f}", f"{statistics.median(draws):8.1f}",
                      per_k, f"{ratio:5.2f}x"]
        print(" ".join(cells))
    note = timings["browser"] if isinstance(timings, dict) else timings
    print(f"\nms; ratio = fastest load / fastest load of '{base['name']}' in this run (the minimum is the least "
          f"disturbed by other work on the machine); {note}")


if __name__ == "__main__":
    main()
