"""The HTML views in a real browser: headless Debian Chromium driven by Playwright.

Checks what only a browser can: no network request of any kind, no script error, one element per graph node
and per step (an 8k-token, 300-step trace), hover/click linking both ways, injected markup that stays text,
independent views side by side (as in a notebook), the report, its level-collapse figure, alignment table, layer
columns and diversity section. Load times are measured by benchmarks/bench_html.py, not here. Screenshots go to
/tmp/rg_shots/. Skipped, with the reason, where Chromium or Playwright is missing. Never downloads a browser.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from reasongraph.graph.reasoning_graph import ReasoningGraph
from reasongraph.html.write import report_html, trace_html, write_report_html, write_trace_html
from reasongraph.html.trace_view import build_trace_payload
from reasongraph.html.report_view import line_key
from reasongraph.analysis.synthetic import synthetic_analysis
from reasongraph.trace.steps import Step

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
def test_big_trace_loads_clean_and_complete(browser, big):
    an, path = big
    assert an.trace.n_tokens >= 8000 and an.trace.n_steps == 300
    o = Opened(browser, path.as_uri())
    o.assert_clean()
    assert o.count("[data-node-id]") == an.graph.n_nodes
    assert o.count("[data-step]") == an.trace.n_steps
    assert o.marked("[data-step]", "data-step") == {str(i) for i in range(300)}
    assert o.marked("[data-node-id]", "data-node-id") == {str(n) for n in an.graph.nodes}
    # every character of the trace is in the strip, in order
    assert o.page.eval_on_selector(".rg-strip", "e => e.textContent") == an.trace.text
    o.page.screenshot(path=str(SHOTS / "trace_8k.png"), full_page=True)
    o.close()


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


def test_trace_view_shows_the_onset_relative_table_and_flags_a_saturated_rule(browser, tmp_path):
    from reasongraph.analysis.one_trace import analyze_trace

    an = synthetic_analysis(n_steps=60, seed=5)
    trace = an.trace
    trace.entropy = np.array(trace.entropy, dtype=np.float64)
    trace.entropy[trace.step_spans()[:, 0]] = 9.0  # every step begins at the trace's highest entropies
    saturated = analyze_trace(trace, labels=an.labels, n_shifts=0)
    assert saturated.metrics["align_spike_rate"] == 1.0 and saturated.metrics["align_near_saturated"] is True
    for analysis, flagged in ((an, False), (saturated, True)):
        o = Opened(browser, write_trace_html(analysis, tmp_path / f"t{flagged}.html").as_uri())
        titles = o.page.locator(".rg-cross h3").all_inner_texts()
        assert "Revisits vs onset-relative spikes (steps)" in titles and "Revisits vs onset spikes (steps)" in titles
        flags = o.page.locator(".rg-near-saturated")
        assert flags.count() == (2 if flagged else 0)  # the metric row and the token-relative table
        if flagged:
            assert all(flags.nth(i).is_visible() for i in range(2))
            assert o.page.locator('tr[data-key="align_spike_rate"] td.rg-num').inner_text() == "1"
        assert o.page.locator('tr[data-key="align_rel_odds_ratio"]').count() == 1
        assert o.page.locator('tr[data-key="visit_gini"]').count() == 1
        o.assert_clean()
        o.close()


# ---------------------------------------------------------------------------------------------- report
def test_report_page(browser, tmp_path):
    from reasongraph.analysis.groups.comparison import compare_groups

    rng = np.random.default_rng(0)
    rows = []
    for g, lam in (("Qwen2.5-Math-7B", 0.7), (PAYLOADS[0], 3.0)):
        for i in range(40):
            lc = int(rng.poisson(lam))
            rows.append({"line": len(rows) + 1, "id": f"{i}-{g[:3]}", "group": g, "pair": f"p{i}",
                         "loop_exists": lc > 0, "loop_count": lc, "n_revisits": lc + int(rng.poisson(2)),
                         "mean_entropy": float(rng.gamma(3, 0.1)), "effective_rank": float(rng.normal(30, 4)),
                         "align_n_hidden_only": int(rng.poisson(1))})
    rows[0].update(id=PAYLOADS[1], loop_count=50)
    run = tmp_path / "run"
    run.mkdir()
    (run / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cmp = compare_groups(rows, "Qwen2.5-Math-7B", PAYLOADS[0], pair_field="pair", n_boot=200)
    an = synthetic_analysis(n_steps=60, seed=5)
    path = write_report_html(rows, tmp_path / "report.html", compare=cmp.as_dict(),
                             analyses={line_key(rows[0]["line"]): an})  # keyed as a run's embeds are
    o = Opened(browser, path.as_uri())
    page = o.page
    assert o.count(".rg-dist-card") == 5 and o.count(".rg-compare tr") == len(cmp.metrics) + 1
    assert o.count(".rg-top tr") == 11
    assert page.locator(".rg-top td").nth(1).inner_text() == PAYLOADS[1]
    assert o.count("[data-node-id]") == 0
    page.click("text=show below")  # draws at once, not on the details' later "toggle" event
    assert o.count(".rg-embed [data-node-id]") == an.graph.n_nodes and o.count(".rg-embed [data-step]") == 60
    page.evaluate("window.scrollTo(0, 0)")  # back up to the distribution cards, above the opened trace
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


# ---------------------------------------------------------------------------------------------- level collapse
EVIL_LABEL = "<img src=x onerror=alert(1)>"


def collapse_rows() -> list[dict]:
    """Rows of a level-collapse section: ratios both sides of 1, one beyond the axis (20 > 8), one NaN, one
    without an interval, an untrusted label."""
    def row(key, label, level, ratio, lo, hi, p, note=None):
        return {"key": key, "label": label, "level": level, "mean_a": 0.6, "mean_b": None if ratio is None else
                0.6 * ratio, "ratio": ratio, "ci_low": lo, "ci_high": hi, "p": p, "test": "wilcoxon", "n": 24,
                "note": note}

    return [row("mean_entropy", "H_mean", "token", 0.52, 0.44, 0.60, 0.0012),
            row("evil", EVIL_LABEL, "token", 1.8, 1.2, 2.5, 0.03),
            row("fork_share", "forking share", "token", 20.0, 10.0, 30.0, 0.2),
            row("effective_rank", "erank", "hidden", 0.97, 0.90, 1.05, 0.6),
            row("gone", "no pairs", "hidden", float("nan"), None, None, None, note="fewer than 2 pairs"),
            row("no_ci", "no interval", "hidden", 1.1, None, None, None)]


def collapse_section(rows: list[dict]) -> dict:
    return {"a": "base", "b": "rl", "mode": "proxy: all groups scored by SmolLM2-135M-Instruct", "n_pairs": 24,
            "rows": rows,
            "summary": {"token_collapse": {"value": 0.48, "ci_low": 0.40, "ci_high": 0.55},
                        "hidden_collapse_erank": {"value": 0.05, "ci_low": -0.02, "ci_high": 0.12},
                        "hidden_collapse_spread": {"value": 0.3, "ci_low": 0.1, "ci_high": 0.5},
                        "difference_erank": {"value": 0.43, "ci_low": 0.30, "ci_high": 0.56, "p": 0.003},
                        "difference_spread": {"value": 0.18, "ci_low": -0.1, "ci_high": 0.4, "p": 0.2},
                        "control_share": {"group": EVIL_LABEL, "token_collapse": {"value": 0.6},
                                          "hidden_collapse_erank": {"value": None},
                                          "hidden_collapse_spread": {"value": 0.25, "ci_low": 0.1, "ci_high": 0.4}}},
            "saturation": {"base": {"spike_rate": 0.92, "near_saturated": True, "n_near_saturated": 10,
                                    "n_traces": 12},
                           EVIL_LABEL: {"spike_rate": 0.5, "near_saturated": False}},
            "coupling": {"base": -0.12, "rl": 0.05}}


def small_report_payload() -> dict:
    from reasongraph.html.report_view import report_payload

    rows = [{"line": i + 1, "id": f"t{i}", "group": g, "loop_exists": i % 3 > 0, "loop_count": i % 3,
             "n_revisits": i % 4, "mean_entropy": 0.1 * (i + 1)} for i, g in enumerate(["base", "rl"] * 6)]
    return report_payload(rows)


def test_level_collapse_figure(browser, tmp_path):
    rows = collapse_rows()
    payload = small_report_payload()
    payload["collapse"] = collapse_section(rows)
    path = tmp_path / "collapse.html"
    path.write_text(report_html(payload), encoding="utf-8")
    o = Opened(browser, path.as_uri())
    page = o.page
    # the first section of the report, right under its header
    assert page.evaluate("document.querySelector('.rg-root section').className") == "rg-panel rg-collapse-panel"
    heads = page.eval_on_selector_all(".rg-cl-head", "els => els.map(e => [e.textContent, e.getBBox().y])")
    assert [h[0] for h in heads] == ["Token level", "Hidden-state level"] and heads[0][1] < heads[1][1]
    keys_y = page.eval_on_selector_all(".rg-cl-row", "els => els.map(e => [e.dataset.key, e.getBBox().y])")
    assert [k for k, _ in keys_y] == [r["key"] for r in rows]  # token rows, then hidden rows, in payload order
    assert all(keys_y[i][1] > heads[0][1] for i in range(3)) and all(y > heads[1][1] for _, y in keys_y[3:])
    # one dot per drawable ratio, on the side of the line at 1 that its ratio says
    centre = "const r = e.getBoundingClientRect(), x = r.left + r.width / 2;"
    one = page.eval_on_selector(".rg-cl-one", f"e => {{ {centre} return x; }}")
    dots = page.eval_on_selector_all(".rg-cl-dot", f"""els => els.map(e => {{ {centre}
        return [e.closest('.rg-cl-row').dataset.key, x, e.classList.contains('rg-cl-clamped')]; }})""")
    ratio = {r["key"]: r["ratio"] for r in rows}
    assert sorted(k for k, _, _ in dots) == sorted(k for k, v in ratio.items() if not np.isnan(v))
    for key, x, clamped in dots:
        assert (x < one) == (ratio[key] < 1) and x != one, key
        assert clamped == (key == "fork_share")  # 20 is beyond the axis (0.125 to 8): drawn on its edge
    ticks = page.eval_on_selector_all(".rg-collapse .rg-axis-tick", "els => els.map(e => e.textContent)")
    assert ticks[:7] == ["0.125", "0.25", "0.5", "1", "2", "4", "8"]
    # the NaN row is there, says n/a and its note, and has no dot
    gone = page.locator('.rg-cl-row[data-key="gone"]')
    assert gone.locator(".rg-cl-dot").count() == 0 and gone.locator(".rg-cl-value").text_content() == \
        "n/a \u00b7 fewer than 2 pairs"
    assert page.locator('.rg-cl-row[data-key="mean_entropy"] .rg-cl-value').text_content() == "0.52 [0.44, 0.6]"
    assert page.locator('.rg-cl-row[data-key="mean_entropy"] .rg-cl-p').text_content() == "0.0012"
    # the untrusted label is text
    assert page.locator('.rg-cl-row[data-key="evil"] .rg-group-label').text_content() == EVIL_LABEL
    assert o.count("img") == 0
    # hover a dot: the tooltip gives A, B, ratio, CI and p
    x, y = visible_point(page, '.rg-cl-row[data-key="mean_entropy"] .rg-cl-dot')
    page.mouse.move(x, y)
    tip = page.locator(".rg-tooltip").inner_text()
    assert "base (A) mean 0.6" in tip and "rl (B) mean 0.312" in tip
    assert "ratio B/A 0.52 [0.44, 0.6]" in tip and "p = 0.0012 (wilcoxon)" in tip
    # below: mode, summary and coupling, as text
    panel = page.locator(".rg-collapse-panel")
    assert panel.locator(".rg-cl-mode.rg-cl-proxy").inner_text() == \
        "mode: proxy: all groups scored by SmolLM2-135M-Instruct"
    summary = panel.locator(".rg-cl-summary").inner_text()
    assert "Token-level collapse 0.48 [0.4, 0.55]" in summary
    assert "hidden-level collapse within one trajectory (erank_window) 0.05 [-0.02, 0.12]" in summary
    assert "across a prompt's samples (cosine spread) 0.3 [0.1, 0.5]" in summary
    assert "Token minus hidden collapse: erank 0.43 [0.3, 0.56], p = 0.003 \u00b7 spread 0.18 [-0.1, 0.4], p = 0.2" \
        in summary
    assert panel.locator(".rg-cl-control").inner_text() == (
        f"Share of the control's range (A \u2212 B) / (A \u2212 C), C = {EVIL_LABEL}: token 0.6 \u00b7 erank n/a "
        "\u00b7 spread 0.25 [0.1, 0.4]")
    # the near-saturated group carries a visible flag; the other does not
    flags = panel.locator(".rg-cl-saturation .rg-near-saturated")
    assert flags.count() == 1 and flags.is_visible() and flags.inner_text() == "near-saturated"
    assert panel.locator(".rg-cl-sat").all_inner_texts() == ["base 0.92", f"{EVIL_LABEL} 0.5"]
    assert "Coupling per group: base -0.12 \u00b7 rl 0.05" in summary
    panel.screenshot(path=str(SHOTS / "report_collapse.png"))
    o.assert_clean()
    o.close()


@pytest.mark.parametrize("collapse", [None, {}, {"rows": None, "summary": None, "coupling": None},
                                      {"a": None, "b": 3, "mode": "faithful", "n_pairs": None,
                                       "rows": [{"key": None, "label": None, "level": None, "ratio": None}],
                                       "summary": {"difference": {"value": None}, "control_share": "junk"},
                                       "saturation": {"x": None, "y": {"near_saturated": True}},
                                       "coupling": {"x": None}}])
def test_level_collapse_degenerate_sections_never_crash(browser, tmp_path, collapse):
    payload = small_report_payload()
    payload["collapse"] = collapse
    path = tmp_path / "c.html"
    path.write_text(report_html(payload), encoding="utf-8")
    o = Opened(browser, path.as_uri())
    assert o.count(".rg-collapse-panel") == (collapse is not None) and o.count(".rg-cl-dot") == 0
    assert o.count(".rg-dist-card") > 0  # the rest of the report is drawn
    o.assert_clean()
    o.close()


# -------------------------------------------------------------------------------- alignment, layers, diversity
def js_fmt(v) -> str:
    """common.js's fmt for the plain numbers these tests use: n/a, integers as they are, else 3 significant digits."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    if float(v).is_integer():
        return str(int(v))
    if abs(v) < 0.001 or abs(v) >= 1e5:  # toExponential(2): "1.23e-4"
        mantissa, exponent = f"{v:.2e}".split("e")
        return f"{mantissa}e{int(exponent):+d}"
    return repr(float(f"{v:.3g}"))


def js_estimate(v, lo, hi) -> str:
    return js_fmt(v) + ("" if lo is None and hi is None else f" [{js_fmt(lo)}, {js_fmt(hi)}]")


def section_rows() -> list[dict]:
    """Three groups: "base" with revisit x spike (near-saturated), onset-relative and marker cells, an untrusted name
    with revisit x spike and onset-relative cells only, "plain" with no alignment cells (its alignment is null)."""
    rng = np.random.default_rng(7)
    rows = []
    for g in ("base", EVIL_LABEL, "plain"):
        for i in range(12):
            a, b, c, d = (int(x) for x in rng.integers(0, 6, size=4))
            row = {"line": len(rows) + 1, "id": f"{g[:4]}{i}", "group": g, "loop_exists": a + b > 0,
                   "loop_count": a + b, "n_revisits": a + b, "mean_entropy": float(rng.gamma(3, 0.1))}
            if g != "plain":
                c = c + 20 if g == "base" else c  # base: nearly every step spikes (near-saturated)
                row.update(align_revisit_spike=a, align_revisit_nospike=b, align_norevisit_spike=c,
                           align_norevisit_nospike=d, align_n_hidden_only=b)
                e, f, h, k = (int(x) for x in rng.integers(0, 6, size=4))  # the onset-relative rule's table
                row.update(align_rel_revisit_spike=e, align_rel_revisit_nospike=f, align_rel_norevisit_spike=h,
                           align_rel_norevisit_nospike=k, align_rel_n_hidden_only=f)
            if g == "base":
                m = [int(x) for x in rng.integers(0, 5, size=8)]
                row.update(zip(("align_revisit_marker", "align_revisit_nomarker", "align_norevisit_marker",
                                "align_norevisit_nomarker", "align_marker_spike", "align_marker_nospike",
                                "align_nomarker_spike", "align_nomarker_nospike"), m))
            rows.append(row)
    return rows


# the layer columns: depth ratios, one ratio missing (null) for "base" at 0.9
LAYERS = {"0.1": {"base": {"detection_ratio": 0.2, "detection_ci": [0.1, 0.35]},
                  EVIL_LABEL: {"detection_ratio": 0.3, "detection_ci": [0.15, 0.5]}},
          "0.5": {"base": {"detection_ratio": 0.6, "detection_ci": [0.45, 0.74]},
                  EVIL_LABEL: {"detection_ratio": 0.75, "detection_ci": [0.6, 0.86]}},
          "0.9": {"base": {"detection_ratio": None, "detection_ci": [float("nan"), float("nan")]},
                  EVIL_LABEL: {"detection_ratio": 0.45, "detection_ci": [0.3, 0.6]}}}


def diversity_rows() -> list[dict]:
    """Diversity rows of two groups: "base" has three prompts (the most diverse named with markup), the other group
    one prompt whose third sample walks 700 steps (past the 600-step cap)."""
    def row(group, prompt, dist, share, walks, gram=0.8):
        return {"group": group, "sample_group": prompt, "n_samples": len(walks), "distinct_walk_share": share,
                "walk_distance": dist, "node_coverage": 0.3, "distinct_3gram_share": gram,
                "ids": [f"{prompt}#{i}" for i in range(len(walks))], "walks": walks}

    return [row("base", "p1", 0.2, 0.5, [[0, 0, 1, 2], [0, 1, 2], [0, 1, 1, 2]]),
            row("base", EVIL_LABEL, 0.7, 0.75, [[3, -1, 3, 4], [5, 6], [0, 4, 4, 4, 4, 1], [2]]),
            row("base", "p3", 0.5, 1.0, [[1, 2, 3], [3, 2, 1]]),
            row(EVIL_LABEL, "q1", 0.9, 1.0, [[7, 8], [9] * 5, [int(i % 11) for i in range(700)]], gram=float("nan"))]


def open_report(browser, tmp_path, html: str, name: str = "sections.html") -> Opened:
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    return Opened(browser, path.as_uri())


def test_report_sections_alignment_layers_diversity(browser, tmp_path):
    from reasongraph.html.report_view import report_payload
    from reasongraph.analysis.groups.pooled_alignment import pool_alignment

    rows, drows = section_rows(), diversity_rows()
    payload = report_payload(rows, layers=LAYERS, diversity=drows)
    o = open_report(browser, tmp_path, report_html(rows, layers=LAYERS, diversity=drows))
    page = o.page
    order = page.eval_on_selector_all(".rg-root > section", "els => els.map(e => e.className.split(' ')[1])")
    assert order == ["rg-alignment-panel", "rg-detection-panel", "rg-dist-panel", "rg-layers-panel",
                     "rg-diversity-panel", "rg-top-panel"]

    # alignment: one row per group, the pooled numbers as text, n/a where a table is missing
    assert page.eval_on_selector_all(".rg-al-row", "els => els.map(e => e.dataset.group)") == \
        ["base", EVIL_LABEL, "plain"]

    def cell(group: str, col: str) -> str:
        return page.locator(f".rg-al-row >> nth={payload['groups'].index(group)}").locator(
            f'td[data-col="{col}"]').text_content()

    for g in ("base", EVIL_LABEL):
        pooled = pool_alignment([r for r in rows if r["group"] == g])
        assert cell(g, "traces") == "12"
        assert cell(g, "revisit_spike") == js_estimate(pooled["mh_odds_ratio"], pooled["mh_ci_low"],
                                                       pooled["mh_ci_high"])
        assert cell(g, "cmh_p") == js_fmt(pooled["cmh_p"])
        assert cell(g, "hidden_only") == js_estimate(pooled["hidden_only_share"], pooled["hidden_only_share_ci_low"],
                                                     pooled["hidden_only_share_ci_high"])
        assert cell(g, "hidden_n") == f"{pooled['n_hidden_only']} of {pooled['n_revisits']}"
        assert cell(g, "marker_revisit") == ("n/a" if g != "base" else js_estimate(
            pooled["marker_revisit_mh_odds_ratio"], pooled["marker_revisit_mh_ci_low"],
            pooled["marker_revisit_mh_ci_high"]))
        assert cell(g, "marker_p") == js_fmt(pooled["marker_revisit_cmh_p"])
    assert {cell("plain", c) for c in ("traces", "revisit_spike", "hidden_only", "marker_p")} == {"n/a"}
    assert o.count(".rg-al-help dd") == 10
    # the spike rate, flagged when near-saturated, and the onset-relative rule beside the token-relative one
    for g in ("base", EVIL_LABEL):
        pooled = pool_alignment([r for r in rows if r["group"] == g])
        flagged = " near-saturated" if pooled["near_saturated"] else ""
        assert cell(g, "spike_rate") == js_fmt(pooled["spike_rate"]) + flagged
        assert cell(g, "rel_revisit_spike") == js_estimate(pooled["rel_mh_odds_ratio"], pooled["rel_mh_ci_low"],
                                                           pooled["rel_mh_ci_high"])
        assert cell(g, "rel_hidden_only") == js_estimate(pooled["rel_hidden_only_share"],
                                                         pooled["rel_hidden_only_share_ci_low"],
                                                         pooled["rel_hidden_only_share_ci_high"])
    assert page.locator('.rg-al-row[data-group="base"] td[data-col="spike_rate"] .rg-near-saturated').is_visible()
    assert page.locator(f'.rg-al-row >> nth=1').locator(".rg-near-saturated").count() == 0

    # layers: one line per group, one dot per non-null ratio, a higher ratio drawn higher, x at the depth ratio
    assert o.count(".rg-sw-line") == 2 and o.count(".rg-sw-dot") == 5
    centre = "const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2];"
    dots = page.eval_on_selector_all(".rg-sw-dot", f"""els => els.map(e => {{ {centre.replace('return', 'const c =')}
        return [e.closest('.rg-sw-group').dataset.group, e.dataset.spec, +e.dataset.ratio, c[0], c[1]]; }})""")
    assert sorted((g, s) for g, s, *_ in dots) == sorted(
        (g, s) for s, per in LAYERS.items() for g, e in per.items() if e["detection_ratio"] is not None)
    for g, s, v, _, y in dots:
        assert v == LAYERS[s][g]["detection_ratio"]
        for g2, s2, v2, _, y2 in dots:
            if v > v2:
                assert y < y2, (g, s, g2, s2)
    x = {(g, s): cx for g, s, _, cx, _ in dots}
    assert (x[EVIL_LABEL, "0.5"] - x[EVIL_LABEL, "0.1"]) / (x[EVIL_LABEL, "0.9"] - x[EVIL_LABEL, "0.1"]) == \
        pytest.approx(0.5, abs=0.01)
    panel = page.locator(".rg-layers-panel")
    labels = panel.locator("svg .rg-axis-label").all_text_contents()
    assert labels == ["layer (depth ratio)", "detection ratio: share of traces with a cycle"]
    assert panel.locator(".rg-sw-legend").inner_text().split("\n") == payload["layers"]["groups"] == \
        sorted(["base", EVIL_LABEL])
    panel.screenshot(path=str(SHOTS / "report_layers.png"))

    # diversity: per-group means with CIs; per extreme one row per sample, one cell per step (or the cap note)
    groups = payload["diversity"]["groups"]
    for g in ("base", EVIL_LABEL):
        tr = page.locator(f".rg-dv-row-group >> nth={sorted(groups).index(g)}")
        assert tr.get_attribute("data-group") == g
        for key in ("distinct_walk_share", "walk_distance", "node_coverage", "distinct_3gram_share"):
            s = groups[g][key]
            assert tr.locator(f'td[data-metric="{key}"]').text_content() == js_estimate(s["mean"], s["ci_low"],
                                                                                        s["ci_high"])
    assert page.locator('.rg-dv-row-group[data-group="base"] td[data-metric="walk_distance"]').text_content() \
        .startswith("0.467 [")  # (0.2 + 0.5 + 0.7) / 3
    assert page.locator('.rg-dv-row-group >> nth=0').locator('td[data-metric="distinct_3gram_share"]') \
        .text_content() == "n/a"  # the untrusted group (sorted first) has no 3-grams
    extremes = payload["diversity"]["extremes"]
    figs = page.locator(".rg-dv-extreme")
    assert figs.count() == len(extremes) == 3
    for i, e in enumerate(extremes):
        fig = figs.nth(i)
        assert fig.locator(".rg-dv-row").count() == len(e["walks"])
        assert fig.locator(".rg-dv-row").evaluate_all("rs => rs.map(r => r.querySelectorAll('.rg-dv-cell').length)") \
            == [min(len(w), 600) for w in e["walks"]]
        caption = fig.locator("figcaption").inner_text()
        assert e["label"] in caption and e["group"] in caption and e["prompt"] in caption
        assert f"walk distance {js_fmt(e['walk_distance'])}" in caption
        assert f"distinct walk share {js_fmt(e['distinct_walk_share'])}" in caption
    assert [(e["group"], e["label"], e["prompt"]) for e in extremes] == \
        [(EVIL_LABEL, "most diverse", "q1"), ("base", "most diverse", EVIL_LABEL), ("base", "least diverse", "p1")]
    assert page.locator(".rg-dv-more").all_inner_texts() == ["\u2026 100 more steps"]
    # one node, one color, in the whole section
    fills = page.eval_on_selector_all(".rg-dv-cell", "els => els.map(e => [e.dataset.node, e.style.fill])")
    by_node: dict[str, set] = {}
    for node, fill in fills:
        by_node.setdefault(node, set()).add(fill)
    assert all(len(f) == 1 for f in by_node.values()) and len({next(iter(f)) for f in by_node.values()}) > 5
    cell_sel = '.rg-dv-extreme >> nth=2'
    target = page.locator(cell_sel).locator(".rg-dv-row >> nth=1").locator('.rg-dv-cell[data-step="1"]')
    target.hover()
    assert page.locator(".rg-tooltip").inner_text().split("\n") == ["step 1 \u00b7 node 1", "sample p1#1"]
    page.locator(".rg-diversity-panel").screenshot(path=str(SHOTS / "report_diversity.png"))
    page.locator(".rg-alignment-panel").screenshot(path=str(SHOTS / "report_alignment.png"))
    assert o.count("img") == 0
    o.assert_clean()
    o.close()


@pytest.mark.parametrize("sections", [
    {"layers": None, "diversity": None, "alignment": None},
    {"layers": {}, "diversity": {}, "alignment": []},
    {"layers": {"specs": None, "groups": None}, "diversity": {"metrics": None, "groups": None, "extremes": None},
     "alignment": "junk"},
    {"layers": {"specs": ["0", "-1", "12", "?"], "groups": ["a", "b"], "ratio": {"a": [0.5, None, 1, 0]},
                "lo": None, "hi": {"a": [None]}},
     "diversity": {"metrics": [{"key": "walk_distance"}, None], "groups": {"a": None, "b": {"walk_distance": None}},
                   "extremes": [None, {"walks": [[], None, [1, None, -1]], "ids": None}, {"label": "x"}]},
     "alignment": [None, {"n_traces": None}]},
])
def test_report_sections_degenerate_never_crash(browser, tmp_path, sections):
    payload = small_report_payload()
    payload.update(sections)
    o = open_report(browser, tmp_path, report_html(payload))
    has_alignment = isinstance(sections["alignment"], list) and any(sections["alignment"])
    assert o.count(".rg-alignment-panel") == has_alignment
    assert o.count(".rg-layers-panel") == (sections["layers"] is not None)
    assert o.count(".rg-diversity-panel") == (sections["diversity"] is not None)
    if has_alignment:  # the row without an entry and the entry without values say n/a
        assert set(o.page.eval_on_selector_all(".rg-al-row td", "els => els.map(e => e.textContent)")) <= \
            {"n/a"}
    layers = sections["layers"] or {}
    if layers.get("specs"):  # not depth ratios: evenly spaced, one dot per finite ratio
        assert o.count(".rg-sw-line") == 2 and o.count(".rg-sw-dot") == 3
        assert "layer (in the run's order)" in o.page.locator(".rg-layers-panel svg").text_content()
        xs = o.page.eval_on_selector_all(".rg-sw-dot", "els => els.map(e => +e.getAttribute('cx'))")
        assert xs == sorted(xs) and xs[1] - xs[0] == pytest.approx(2 * (xs[2] - xs[1]), abs=0.2)  # specs 0, 2, 3
        assert o.count(".rg-dv-extreme") == 2 and o.count(".rg-dv-cell") == 3
    assert o.count(".rg-dist-card") > 0  # the rest of the report is drawn
    o.assert_clean()
    o.close()


# ---------------------------------------------------------------------------------------------- the run's K
def test_report_states_the_chosen_k_and_the_runs_notes(browser, tmp_path):
    """The K a run chose and why, and its notes (issue 21.1), are visible above the report, as text."""
    rows = [{"line": i + 1, "id": f"r{i}", "loop_exists": i % 2 == 0, "loop_count": i % 2, "n_revisits": i % 3}
            for i in range(6)]
    note = f"K = 40 for tiny exceeds a third of its 60 fitted steps {PAYLOADS[1]}"
    path = write_report_html(rows, tmp_path / "k.html", options={"k": "auto", "k_chosen": "20 (auto: n/3 of 60 "
                                                                  "fitted steps = 20)", "notes": [note]})
    o = Opened(browser, path.as_uri())
    assert "K = 20 (auto: n/3 of 60 fitted steps = 20)" in o.page.locator(".rg-facts").first.inner_text()
    assert o.page.locator(".rg-run-note").all_inner_texts() == [f"Note: {note}"]
    o.assert_clean()
    o.close()
