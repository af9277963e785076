"""analyze's summary a reader can take in (issue 21.6): units, a reason for every n/a, a heading over the
hidden-only list, marker counts that agree with the HTML; the notes under score's and compare's tables; the exact
interval of an odds ratio."""
from __future__ import annotations

import math

import numpy as np
import pytest

from reasongraph.analysis.groups.caveats import caveat_notes, short_traces, small_world_note
from reasongraph.analysis.one_trace import analyze_trace
from reasongraph.analysis.summary_text import odds_ratio_text
from reasongraph.analysis.synthetic import synthetic_analysis, synthetic_trace
from reasongraph.html.trace_view import trace_payload
from reasongraph.stats.two_by_two import odds_ratio_interval


def test_units_heading_and_reasons_on_a_long_trace():
    an = synthetic_analysis(n_steps=60, tokens_per_step=26, n_nodes=8, seed=1, n_shifts=0)
    text = an.summary()
    assert "L2 distance between step vectors in hidden space" in text
    assert f"token entropy: mean={an.metrics['mean_entropy']:.3g} nats" in text
    windows = an.metrics["n_tokens"] // 128  # 1560 tokens: 12 windows
    assert f"level coupling={an.metrics['level_coupling']:.3g} (Spearman over {windows} windows of 128 tokens)" in text
    n = len(an.events["hidden_only"])
    assert n > 5
    heading = [line for line in text.splitlines() if line.startswith("hidden-only revisits (the first 5 of")]
    assert heading == [f"hidden-only revisits (the first 5 of {n}: step -> node it returns to, steps since its "
                       "last visit, the step's text):"]
    listed = text.splitlines()[text.splitlines().index(heading[0]) + 1:]
    assert len(listed) == 5 and all(line.startswith("  step ") for line in listed)


def test_every_n_a_says_why_on_a_short_trace():
    """Two steps of 26 tokens: no 128-token window, one node per step, no revisit."""
    trace, _ = synthetic_trace(n_steps=2, tokens_per_step=26, n_nodes=2, seed=0, text_prefix="", prompt=None,
                               model_name="m", d=8)
    an = analyze_trace(trace, labels=np.array([0, 1]), n_shifts=0)
    text = an.summary()
    assert "in windows of 128 tokens: n/a: fewer than 128 tokens" in text
    assert "level coupling=n/a (0 windows of 128 tokens; a correlation needs 3)" in text
    assert "small-world=n/a (undefined: mean degree <= 1" in text
    assert "hidden-only revisits (revisits with no onset spike: exploration token entropy misses): n/a (no revisit)" \
        in text
    assert "odds ratio=n/a (a row or column of the table is empty" in text
    assert "nan" not in text.lower().replace("nats", "")


def test_one_step_trace_is_named_too_short():
    trace, _ = synthetic_trace(n_steps=1, tokens_per_step=26, n_nodes=1, seed=0, text_prefix="", prompt=None,
                               model_name="m", d=8)
    text = analyze_trace(trace, labels=np.array([0]), n_shifts=0).summary()
    assert "1 steps" in text.splitlines()[0] and "(too short for a graph: 1 step" in text.splitlines()[0]


def test_marker_counts_agree_with_the_html():
    """The text counts cues and the steps holding them; the HTML's marker x revisit table counts those steps."""
    an = synthetic_analysis(n_steps=40, tokens_per_step=26, n_nodes=6, seed=2, n_shifts=0,
                            text_prefix="Wait, hmm, actually ")
    cues = an.metrics["n_markers"]
    assert cues >= 3 and len(an.markers) == cues
    payload = trace_payload(an)
    marker_steps = sum(s["marker"] for s in payload["steps"])
    assert marker_steps < cues  # three cues share the first step
    table = next(t for t in payload["tables"] if t["title"].startswith("Aha markers vs revisits"))
    assert table["cols"][0] == "marker" and sum(row[0] for row in table["cells"]) == marker_steps
    assert f"aha markers: {cues} cues in {marker_steps} steps" in an.summary()


def test_odds_ratio_interval_is_scipys_exact_one():
    low, high = odds_ratio_interval([[3, 10], [3, 10]])
    assert low * high == pytest.approx(1.0)  # a table of odds ratio 1 by symmetry: the interval is too, in logs
    assert (low, high) == (pytest.approx(0.10637, abs=1e-5), pytest.approx(9.4012, abs=1e-4))
    low, high = odds_ratio_interval([[13, 0], [11, 2]])
    assert low > 0 and math.isinf(high)  # a zero cell: open on one side
    assert all(math.isnan(v) for v in odds_ratio_interval([[0, 0], [3, 10]]))
    assert odds_ratio_text([[13, 0], [11, 2]], 5.87, True) == \
        "5.87 [0.19, inf] (exact 95% CI) (Haldane-corrected: a cell is 0) (small sample: a cell holds 0)"
    assert odds_ratio_text([[30, 10], [10, 30]], 9.0, False).endswith("(exact 95% CI)")


def test_caveats_count_and_name_short_traces_and_an_undefined_small_world():
    rows = [{"id": f"r{i}", "n_steps": 1 if i < 2 else 8, "small_world_hops": math.nan if i < 3 else 0.0,
             "small_world": 1.5} for i in range(6)]
    assert [r["id"] for r in short_traces(rows)] == ["r0", "r1"]
    notes = caveat_notes(rows)
    assert notes[0] == ("2 of 6 traces have a single step, too short for a graph (no cycle can form; shape measures "
                        "n/a), and are part of n: r0, r1")
    assert notes[1].startswith("small_world_hops: undefined in 3 of 6 traces") and "0 in 3 (no triangle)" in notes[1]
    assert len(notes) == 2  # small_world is positive everywhere: no note
    assert small_world_note([{"small_world_hops": 1.2}] * 3) is None
    assert caveat_notes([{"id": "a", "n_steps": 5, "small_world_hops": 2.0}]) == []
    # None is NaN read back from strict JSON or Parquet: undefined too; a row without the key is not counted
    read_back = [{"small_world_hops": None}] * 2 + [{"small_world_hops": 2.0}, {}]
    assert small_world_note(read_back).startswith("small_world_hops: undefined in 2 of 3 traces")
