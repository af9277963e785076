"""The HTML views in a real browser: headless Debian Chromium driven by Playwright.

Checks what only a browser can: no network request of any kind, no script error, one element per graph node
and per step, hover/click linking both ways, injected markup that stays text, independent views side by side
(as in a notebook), and the load time of an 8k-token, 300-step trace. Screenshots go to /tmp/rg_shots/.
Skipped, with the reason, where Chromium or Playwright is missing. Never downloads a browser.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from reasongraph.graph import ReasoningGraph
from reasongraph.html import report_html, trace_html, write_report_html, write_trace_html
from reasongraph.html.payload import build_trace_payload
from reasongraph.html.report import line_key
from reasongraph.html.synthetic import synthetic_analysis
from reasongraph.segment import Step

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(os.environ.get("RG_SHOTS", "/tmp/rg_shots"))
PAYLOADS = ("<script>window.__pwned=1</script>", "</script><img src=x onerror=window.__pwned=1>",
            '"><svg onload=window.__pwned=1>')


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """An 8k-token, 300-step trace with a cyclic graph, written as a page."""
    an = synthetic_analysis(n_steps=300, tokens_per_step=26, seed=0)
    path = write_trace_html(an, tmp_path_factory.mktemp("big") / "trace.html")
    return an, path


class Opened:
    """A page with everything it requested, every error and every dialog recorded."""

    def __init__(self, browser, url: str | None = None, width: int = 1440, height: int = 1000):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("dialog", self._dialog)
        if url:
            self.page.goto(url)

    def _dialog(self, d) -> None:
        self.dialogs.append(d.message)
        d.dismiss()

    def external_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]

    def assert_clean(self) -> None:
        assert self.external_requests() == []
        assert self.errors == []
        assert self.dialogs == []
        assert self.page.evaluate("typeof window.__pwned") == "undefined"

    def count(self, selector: str) -> int:
        return self.page.locator(selector).count()

    def marked(self, selector: str, attr: str) -> set[str]:
        return set(self.page.eval_on_selector_all(selector, f"els => els.map(e => e.getAttribute('{attr}'))"))

    def close(self) -> None:
        self.context.close()


def visible_point(page, selector: str) -> tuple[float, float] | None:
    """A point inside the element's first box that really hits it (not hidden under a neighbor)."""
    return page.evaluate(
        """sel => { const e = document.querySelector(sel); const shape = e.querySelector('circle') || e;
        for (const r of shape.getClientRects()) { const x = r.left + r.width / 2, y = r.top + r.height / 2;
          const hit = document.elementFromPoint(x, y); if (hit && e.contains(hit)) return [x, y]; }
        return null; }""", selector)


# ---------------------------------------------------------------------------------------------- trace page
def test_big_trace_loads_clean_fast_and_complete(browser, big):
    an, path = big
    assert an.trace.n_tokens >= 8000 and an.trace.n_steps == 300
    times = []
    for _ in range(3):
        o = Opened(browser, path.as_uri())
        times.append(o.page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
        o.assert_clean()
        assert o.count("[data-node-id]") == an.graph.n_nodes
        assert o.count("[data-step]") == an.trace.n_steps
        assert o.marked("[data-step]", "data-step") == {str(i) for i in range(300)}
        assert o.marked("[data-node-id]", "data-node-id") == {str(n) for n in an.graph.nodes}
        # every character of the trace is in the strip, in order
        assert o.page.eval_on_selector(".rg-strip", "e => e.textContent") == an.trace.text
        last = o
        if _ < 2:
            o.close()
    last.page.screenshot(path=str(SHOTS / "trace_8k.png"), full_page=True)
    last.close()
    (SHOTS / "trace_8k_load.json").write_text(json.dumps({"bytes": path.stat().st_size, "load_ms": times}))
    assert min(times) < 1000, f"load times {times} ms"


def test_hovering_links_nodes_and_steps_both_ways(browser, big):
    an, path = big
    o = Opened(browser, path.as_uri())
    page, g = o.page, an.graph.to_networkx()
    by_visits = sorted(g.nodes, key=lambda n: -g.nodes[n]["visits"])
    node = next(n for n in by_visits if visible_point(page, f'[data-node-id="{n}"]'))
    x, y = visible_point(page, f'[data-node-id="{node}"]')
    page.mouse.move(x, y)
    assert o.marked("[data-step].rg-hl", "data-step") == {str(s) for s in g.nodes[node]["steps"]}
    assert o.marked("[data-node-id].rg-hl", "data-node-id") == {str(node)}
    page.mouse.click(x, y)  # pin, then move away: the selection stays
    page.mouse.move(5, 5)
    assert o.marked("[data-step].rg-hl", "data-step") == {str(s) for s in g.nodes[node]["steps"]}
    page.locator(".rg-graph").screenshot(path=str(SHOTS / "trace_node_pinned.png"))
    page.mouse.click(x, y)  # release
    page.mouse.move(5, 5)
    assert o.count(".rg-hl") == 0

    revisit = an.graph.revisits()[3]
    sel = f'[data-step="{revisit.step}"]'
    page.locator(sel).scroll_into_view_if_needed()
    x, y = visible_point(page, sel)
    page.mouse.move(x, y)
    assert o.marked("[data-node-id].rg-hl", "data-node-id") == {str(revisit.node)}
    assert o.marked("[data-step].rg-hl", "data-step") == {str(revisit.step)}
    way_back = range(revisit.step - revisit.steps_since_last_visit, revisit.step + 1)
    assert o.marked("[data-node-id].rg-path", "data-node-id") == {str(an.labels[s]) for s in way_back}
    assert "back to node" in page.locator(".rg-info").inner_text()
    page.screenshot(path=str(SHOTS / "trace_step_hover.png"))
    page.mouse.click(x, y)
    page.mouse.move(5, 5)
    assert o.marked("[data-node-id].rg-hl", "data-node-id") == {str(revisit.node)}
    o.assert_clean()
    o.close()


def test_pan_and_zoom_move_the_graph(browser, big):
    _, path = big
    o = Opened(browser, path.as_uri())
    page = o.page
    vp = ".rg-viewport"
    box = page.locator(".rg-graph").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.wheel(0, -400)
    zoomed = page.get_attribute(vp, "transform")
    assert zoomed and "scale(1)" not in zoomed
    page.mouse.down()
    page.mouse.move(box["x"] + 120, box["y"] + 90, steps=5)
    page.mouse.up()
    assert page.get_attribute(vp, "transform") != zoomed
    page.dblclick(".rg-graph-bg", position={"x": 5, "y": 5})
    assert page.get_attribute(vp, "transform") == "translate(0.00,0.00) scale(1.0000)"
    o.assert_clean()
    o.close()


def test_injected_markup_stays_text(browser, tmp_path):
    an = synthetic_analysis(n_steps=20, seed=2, text_prefix=" ".join(PAYLOADS), prompt="\n".join(PAYLOADS),
                            model_name=PAYLOADS[2])
    path = write_trace_html(an, tmp_path / "evil.html", title=PAYLOADS[1])
    o = Opened(browser, path.as_uri())
    page = o.page
    page.click(".rg-prompt summary")
    assert page.locator(".rg-prompt pre").inner_text() == "\n".join(PAYLOADS)
    strip = page.eval_on_selector(".rg-strip", "e => e.textContent")
    assert all(p in strip for p in PAYLOADS)
    assert PAYLOADS[2] in page.locator(".rg-facts").first.inner_text()
    assert page.title() == PAYLOADS[1]
    page.locator('[data-step="0"]').hover()
    assert o.count("img") == 0 and o.count(".rg-strip svg") == 0
    page.screenshot(path=str(SHOTS / "trace_injection.png"))
    o.assert_clean()
    o.close()


def test_views_side_by_side_as_in_a_notebook(browser):
    """Two fragments inserted the way JupyterLab does (innerHTML, then scripts re-created) stay independent."""
    a = synthetic_analysis(n_steps=30, seed=3)
    b = synthetic_analysis(n_steps=50, seed=4)
    o = Opened(browser, "about:blank")
    page = o.page
    page.set_content("<div id='out1'></div><div id='out2'></div>")
    page.evaluate("""([h1, h2]) => { for (const [id, html] of [['out1', h1], ['out2', h2]]) {
        const el = document.getElementById(id); el.innerHTML = html;
        for (const old of el.querySelectorAll('script')) { const s = document.createElement('script');
          for (const at of old.attributes) s.setAttribute(at.name, at.value); s.textContent = old.textContent;
          old.replaceWith(s); } } }""", [a._repr_html_(), trace_html(b, full_page=False)])
    assert o.count("#out1 [data-step]") == 30 and o.count("#out2 [data-step]") == 50
    assert o.count("#out1 [data-node-id]") == a.graph.n_nodes and o.count("#out2 [data-node-id]") == b.graph.n_nodes
    page.locator("#out2 [data-node-id]").first.dispatch_event("mouseover")
    assert o.count("#out1 .rg-hl") == 0 and o.count("#out2 [data-step].rg-hl") > 0
    ids = page.eval_on_selector_all("[id]", "els => els.map(e => e.id)")
    assert len(ids) == len(set(ids)), "duplicate element ids between the two views"
    o.assert_clean()
    o.close()


def test_degenerate_traces_render_without_errors(browser, tmp_path):
    text = "only line here\nsecond line too"
    steps = [Step(0, 1, 0, 14, text[:14]), Step(1, 2, 15, 30, text[15:])]
    for walk in ([-1, -1], [0, 0]):
        g = ReasoningGraph.from_walk(walk)
        payload = build_trace_payload(text=text, offsets=[[0, 14], [14, 30]], entropy=[np.nan, 0.3], steps=steps,
                                      walk=walk, graph=g.to_networkx(), revisits=g.revisits(), prompt=None)
        path = tmp_path / f"d{len(g.nodes)}.html"
        path.write_text(trace_html(payload), encoding="utf-8")
        o = Opened(browser, path.as_uri())
        assert o.count("[data-step]") == 2 and o.count("[data-node-id]") == g.n_nodes
        o.page.locator('[data-step="1"]').hover()
        o.assert_clean()
        o.close()


# ---------------------------------------------------------------------------------------------- report
def test_report_page(browser, tmp_path):
    from reasongraph.compare import compare_groups

    rng = np.random.default_rng(0)
    rows = []
    for g, lam in (("Qwen2.5-Math-7B", 0.7), (PAYLOADS[0], 3.0)):
        for i in range(40):
            lc = int(rng.poisson(lam))
            rows.append({"line": len(rows) + 1, "id": f"{i}-{g[:3]}", "group": g, "pair": f"p{i}",
                         "loop_exists": lc > 0, "loop_count": lc, "n_revisits": lc + int(rng.poisson(2)),
                         "mean_entropy": float(rng.gamma(3, 0.1)), "effective_rank": float(rng.normal(30, 4)),
                         "n_hidden_only": int(rng.poisson(1))})
    rows[0].update(id=PAYLOADS[1], loop_count=50)
    run = tmp_path / "run"
    run.mkdir()
    (run / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cmp = compare_groups(rows, "Qwen2.5-Math-7B", PAYLOADS[0], pair_key="pair", n_boot=200)
    an = synthetic_analysis(n_steps=60, seed=5)
    path = write_report_html(run, tmp_path / "report.html", compare=cmp.as_dict(),
                             analyses={line_key(rows[0]["line"]): an})  # keyed as a run's embeds are
    o = Opened(browser, path.as_uri())
    page = o.page
    assert o.count(".rg-dist-card") == 5 and o.count(".rg-compare tr") == len(cmp.metrics) + 1
    assert o.count(".rg-top tr") == 11
    assert page.locator(".rg-top td").nth(1).inner_text() == PAYLOADS[1]
    assert o.count("[data-node-id]") == 0
    page.click("text=show below")
    assert o.count(".rg-embed [data-node-id]") == an.graph.n_nodes and o.count(".rg-embed [data-step]") == 60
    dot = page.evaluate("""() => { for (const c of document.querySelectorAll('.rg-dot')) {
        const r = c.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
        if (document.elementFromPoint(x, y) === c) return [x, y]; } return null; }""")
    page.mouse.move(*dot)
    assert page.locator(".rg-tooltip").first.is_visible()
    assert page.locator(".rg-tooltip").first.inner_text().startswith("id ")
    page.screenshot(path=str(SHOTS / "report.png"), full_page=True)
    o.assert_clean()
    o.close()
    assert "<img src=x" not in report_html(rows)
