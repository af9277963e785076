"""Benchmark of the trace page: build time, file size and browser load time of an 8k-token, 300-step trace.

Run by hand: ``python benchmarks/bench_html.py [--steps 300] [--tokens-per-step 27] [--loads 5]``. The trace is
synthetic (reasongraph.html.synthetic: real Trace, real analysis, generated text and hidden states), so no model
is needed. The load time is the browser's own navigation timing (``loadEventEnd``: parse, scripts, the view
drawn, first layout) in headless Debian Chromium, one fresh page per load, after a warm-up load.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--tokens-per-step", type=int, default=27)
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--out", help="keep the page here (default: a temporary file)")
    args = ap.parse_args()

    from reasongraph.html import trace_html, trace_payload
    from reasongraph.html.synthetic import synthetic_analysis

    an = synthetic_analysis(n_steps=args.steps, tokens_per_step=args.tokens_per_step, seed=0)
    t0 = time.perf_counter()
    payload = trace_payload(an)
    t1 = time.perf_counter()
    html = trace_html(payload)
    t2 = time.perf_counter()
    path = Path(args.out) if args.out else Path(tempfile.mkdtemp()) / "trace.html"
    path.write_text(html, encoding="utf-8")
    result = {
        "n_tokens": an.trace.n_tokens, "n_steps": an.trace.n_steps, "n_nodes": an.graph.n_nodes,
        "n_edges": an.graph.n_edges, "payload_ms": round(1000 * (t1 - t0), 1),
        "render_html_ms": round(1000 * (t2 - t1), 1), "bytes": path.stat().st_size,
        "strip_runs": len(payload["segments"]) // 4,
    }
    result.update(_browser_load(path, args.loads))
    print(json.dumps(result, indent=1))


def _browser_load(path: Path, loads: int) -> dict:
    if not os.path.exists(CHROMIUM):
        return {"browser": f"skipped: {CHROMIUM} is missing"}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"browser": "skipped: playwright is not installed"}
    times, draw = [], []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for i in range(loads + 1):
            page = b.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(path.as_uri())
            load = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            # the view alone: parse the data island and draw it again into its root, then lay it out
            ms = page.evaluate("""() => { const r = document.querySelector('.rg-root');
                const t = performance.now(); const d = JSON.parse(document.getElementById(r.id + '-data').textContent);
                window.ReasonGraph.renderTrace(r, d); r.offsetHeight; return performance.now() - t; }""")
            if i:  # the first load warms the browser up
                times.append(load)
                draw.append(ms)
            page.close()
        version = b.version
        b.close()
    return {"browser": f"chromium {version}", "load_ms_median": round(statistics.median(times), 1),
            "load_ms_min": round(min(times), 1), "load_ms_all": [round(t, 1) for t in times],
            "draw_ms_median": round(statistics.median(draw), 1)}


if __name__ == "__main__":
    main()
