"""The report payload's layer columns, diversity and alignment sections, against hand computations and the pooled
alignment of each group's rows. Drawing them is checked in a browser by test_html_browser.py."""
from __future__ import annotations

import math

import numpy as np
import pytest

from reasongraph.html.report_view import report_payload
from reasongraph.analysis.groups.pooled_alignment import pool_alignment
from reasongraph.analysis.groups.per_group import layer_table

Z95 = 1.959963984540054  # the 97.5% normal quantile


def wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval by its formula (an independent reference for scipy's binomtest)."""
    p, z2 = k / n, Z95 ** 2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def test_layers_are_the_detection_ratio_by_layer_in_sweep_order():
    # the layers "0.9" then "0.5": the first layer's loop_exists is the plain field, the others carry "@<spec>"
    a = [(True, True), (True, True), (False, True), (False, False)]
    rows = [{"group": "a", "loop_exists": x, "loop_exists@0.5": y} for x, y in a]
    rows += [{"group": "b", "loop_exists": False} for _ in range(3)]  # never scored at 0.5
    payload = report_payload(rows, layers=layer_table(rows, ["0.9", "0.5"], n_boot=50))
    layers = payload["layers"]
    assert layers["specs"] == ["0.9", "0.5"] and layers["groups"] == ["a", "b"]
    assert layers["ratio"] == {"a": [0.5, 0.75], "b": [0.0, None]}
    for g, spec_k_n in {"a": [(2, 4), (3, 4)], "b": [(0, 3)]}.items():
        for i, (k, n) in enumerate(spec_k_n):
            lo, hi = wilson(k, n)
            assert layers["lo"][g][i] == pytest.approx(lo, abs=1e-12)
            assert layers["hi"][g][i] == pytest.approx(hi, abs=1e-12)
    assert layers["lo"]["b"][1] is None and layers["hi"]["b"][1] is None  # n = 0: no interval
    assert report_payload(rows)["layers"] is None and report_payload(rows, layers={})["layers"] is None


def diversity_row(group: str, prompt: str, distance: float, share: float, walks: list[list[int]]) -> dict:
    return {"group": group, "sample_group": prompt, "n_samples": len(walks), "distinct_walk_share": share,
            "walk_distance": distance, "node_coverage": 0.25, "distinct_3gram_share": math.nan,
            "ids": [f"{prompt}-{i}" for i in range(len(walks))], "lines": list(range(len(walks))), "walks": walks}


def test_diversity_means_and_extremes():
    rows = [diversity_row("a", "p1", 0.6, 1.0, [[0, 1], [2, 3]]),
            diversity_row("a", "p2", 0.2, 0.5, [[0, 0, 1], [0, 1]]),
            diversity_row("a", "p3", 0.4, 0.5, [[4], [4]]),
            diversity_row("b", "q1", 0.3, 1.0, [[5, 6, 5], [6, 5]])]
    dv = report_payload([{"group": "a"}], diversity=rows)["diversity"]
    assert [m["key"] for m in dv["metrics"]] == ["distinct_walk_share", "walk_distance", "node_coverage",
                                                   "distinct_3gram_share"]
    assert dv["metrics"][1]["label"] == "walk distance"
    assert sorted(dv["groups"]) == ["a", "b"]
    a = dv["groups"]["a"]
    assert a["walk_distance"]["mean"] == pytest.approx(0.4) and a["walk_distance"]["median"] == pytest.approx(0.4)
    assert a["walk_distance"]["n"] == 3 and a["walk_distance"]["ci_low"] <= 0.4 <= a["walk_distance"]["ci_high"]
    assert a["distinct_walk_share"]["mean"] == pytest.approx(2 / 3)
    assert a["distinct_3gram_share"] == {"n": 0, "mean": None, "median": None, "ci_low": None, "ci_high": None}
    assert dv["groups"]["b"]["walk_distance"]["mean"] == pytest.approx(0.3)
    # each group's most diverse prompt (largest walk distance) and least diverse; one prompt has no least
    assert [(e["group"], e["label"], e["prompt"], e["walk_distance"], e["distinct_walk_share"])
            for e in dv["extremes"]] == [("a", "most diverse", "p1", 0.6, 1.0), ("a", "least diverse", "p2", 0.2, 0.5),
                                         ("b", "most diverse", "q1", 0.3, 1.0)]
    assert dv["extremes"][1]["ids"] == ["p2-0", "p2-1"] and dv["extremes"][1]["walks"] == [[0, 0, 1], [0, 1]]
    assert report_payload([{"group": "a"}])["diversity"] is None


MARKER_CELLS = ("align_revisit_marker", "align_revisit_nomarker", "align_norevisit_marker",
                "align_norevisit_nomarker", "align_marker_spike", "align_marker_nospike", "align_nomarker_spike",
                "align_nomarker_nospike")


def alignment_row(group: str, cells: list[int] | None, markers: list[int] | None) -> dict:
    row = {"group": group, "loop_exists": True}
    if cells is not None:
        a, b, c, d = cells
        row.update(align_revisit_spike=a, align_revisit_nospike=b, align_norevisit_spike=c,
                   align_norevisit_nospike=d, align_n_hidden_only=b)
    if markers is not None:
        row.update(zip(MARKER_CELLS, markers))
    return row


def test_alignment_is_the_pooled_alignment_of_each_group():
    rng = np.random.default_rng(3)
    rows = []
    for g, markers in (("rl", True), ("base", False)):
        for _ in range(8):
            cells = [int(x) for x in rng.integers(1, 7, size=12)]
            rows.append(alignment_row(g, cells[:4], cells[4:] if markers else None))
    rows.append(alignment_row("base", None, None))  # a row without cells is left out of the pool
    rows += [alignment_row("none", None, None) for _ in range(3)]
    payload = report_payload(rows)
    assert payload["groups"] == ["rl", "base", "none"]
    al = payload["alignment"]
    assert len(al) == 3 and al[2] is None
    for g, got in zip(payload["groups"][:2], al[:2]):
        want = pool_alignment([r for r in rows if r["group"] == g])
        assert set(got) == set(want)
        for k, v in want.items():
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                assert got[k] is None, (g, k)
            else:
                assert got[k] == v, (g, k)
    assert al[0]["n_traces"] == 8 and al[1]["n_traces"] == 8
    assert al[0]["marker_revisit_mh_odds_ratio"] is not None and al[1]["marker_revisit_mh_odds_ratio"] is None
    # hand check of the pooled hidden-only share: sum of revisits without a spike over all revisits
    base = [r for r in rows if r["group"] == "base" and "align_revisit_spike" in r]
    assert al[1]["hidden_only_share"] == pytest.approx(
        sum(r["align_revisit_nospike"] for r in base) / sum(r["align_revisit_spike"] + r["align_revisit_nospike"]
                                                             for r in base))
