"""HTML a reader can take in (issue 21.6): the effective-rank curve drawn in the metric's own windows, the
catalogue's labels over the most-cyclic table, odds ratios with their interval, and visible small-sample flags
with their n (checked in headless Chromium)."""
from __future__ import annotations

import numpy as np
import pytest

from reasongraph.analysis import catalogue
from reasongraph.analysis.synthetic import synthetic_analysis
from reasongraph.html.report_view import report_payload
from reasongraph.html.trace_view import trace_payload
from reasongraph.html.write import report_html
from reasongraph.trace.hidden.rank_dynamics import WINDOW


def test_the_erank_curve_uses_the_metrics_window():
    """Its windows are the metric's: the mean of the full ones is erank_window itself."""
    an = synthetic_analysis(n_steps=30, tokens_per_step=26, n_nodes=6, seed=3, n_shifts=0)  # 780 tokens
    curve = trace_payload(an)["curves"]["erank"]
    assert curve["window"] == WINDOW == 128
    starts, values = an.erank_curve
    full = values[(starts % WINDOW == 0) & (starts + WINDOW <= an.metrics["n_tokens"])]
    assert len(full) == an.metrics["n_tokens"] // WINDOW
    assert float(np.mean(full)) == pytest.approx(an.metrics["erank_window"], rel=1e-9)


def test_the_trace_view_tables_give_the_odds_ratio_interval():
    an = synthetic_analysis(n_steps=40, tokens_per_step=26, n_nodes=6, seed=2, n_shifts=0)
    table = next(t for t in trace_payload(an)["tables"] if t["title"].startswith("Revisit"))
    assert "(exact 95% CI)" in table["note"] and "odds ratio " in table["note"]


def _rows(n_traces: int, revisits: int) -> list[dict]:
    """Rows of one group as a run writes them: each trace of 6 steps with ``revisits`` revisits, none of which
    begins with a spike (a hidden-only share of 1), and 2 spikes elsewhere."""
    rows = []
    for i in range(n_traces):
        cells = {"revisit_spike": 0, "revisit_nospike": revisits, "norevisit_spike": 2,
                 "norevisit_nospike": 4 - revisits}
        rows.append({"line": i + 1, "id": f"t{i}", "group": "g", "loop_count": 1, "n_revisits": revisits,
                     "n_steps": 6, "align_n_hidden_only": revisits, "align_spike_rate": 2 / 6,
                     "align_near_saturated": False, "mean_entropy": 1.0,
                     **{f"align_{k}": v for k, v in cells.items()}})
    return rows


def test_the_top_table_has_labels_not_column_names():
    top = report_payload(_rows(3, 1))["top"]
    assert top["labels"] == [catalogue.by_key(c).label for c in top["columns"]]
    assert "hidden-only" in top["labels"] and "align_n_hidden_only" in top["columns"]


@pytest.mark.browser
def test_small_samples_are_flagged_with_their_n(tmp_path):
    from test_html_browser import CHROMIUM, ARGS, Opened
    import os

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing")
    sync_api = pytest.importorskip("playwright.sync_api")
    path = tmp_path / "r.html"
    path.write_text(report_html(report_payload(_rows(2, 1))), encoding="utf-8")  # 2 traces, 2 revisits
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        o = Opened(browser, path.as_uri())
        cell = o.page.locator('.rg-al-row [data-col="hidden_only"]')
        assert cell.inner_text().startswith("1 [1, 1]")
        flag = cell.locator(".rg-small-sample")
        assert flag.is_visible() and flag.inner_text() == "small sample (n = 2 revisits)"
        ratio = o.page.locator('.rg-al-row [data-col="revisit_spike"] .rg-small-sample')
        assert ratio.is_visible() and "n = 2 traces" in ratio.inner_text()
        heads = o.page.eval_on_selector_all(".rg-top th", "els => els.map(e => e.textContent)")
        assert "hidden-only" in heads and "align_n_hidden_only" not in heads
        o.assert_clean()
        o.close()
        browser.close()
