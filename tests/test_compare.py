"""Group summaries and paired comparisons against hand-computed numbers and scipy references."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from reasongraph.analysis.groups.comparison import compare_groups
from reasongraph.core.errors import InputError
from reasongraph.stats.bootstrap import bootstrap_ci
from reasongraph.core.storage import JsonlAppender, read_jsonl
from reasongraph.analysis.groups.per_group import numeric_metrics, summarize, summarize_values


def _row(line, group, pair, ent, loop, count, diam=None):
    return {"line": line, "id": f"r{line}", "group": group, "pair": pair, "mean_entropy": ent,
            "loop_exists": loop, "loop_count": count, "diameter": diam, "model_name": "x"}


ROWS = [
    _row(1, "A", "p1", 1.0, True, 2, 10.0),
    _row(2, "A", "p2", 0.8, False, 0, math.nan),
    _row(3, "A", "p3", 0.6, True, 1, 14.0),
    _row(4, "A", "p4", 0.9, True, 3, 12.0),
    _row(5, "A", "p5", 0.7, True, 1, 11.0),   # p5 has no partner in B
    _row(6, "B", "p1", 0.5, True, 3, 20.0),
    _row(7, "B", "p2", 0.4, True, 1, 25.0),
    _row(8, "B", "p3", 0.7, False, 0, None),
    _row(9, "B", "p4", 0.3, True, 4, 30.0),
    _row(10, "B", "p4", 0.5, True, 2, 40.0),  # a second sample of p4: averaged with line 9 before pairing
]


@pytest.fixture
def rows_file(tmp_path: Path) -> Path:
    path = tmp_path / "rows.jsonl"
    with JsonlAppender(path) as app:
        for r in ROWS:
            app.append(r)
    return path


def test_summary_matches_hand_computation(rows_file: Path):
    s = summarize(read_jsonl(rows_file), group_key="group")
    assert list(s) == ["A", "B"]
    a, b = s["A"], s["B"]
    assert a["n"] == 5 and b["n"] == 5
    assert a["detection_ratio"] == pytest.approx(4 / 5) and b["detection_ratio"] == pytest.approx(4 / 5)
    ent_a, ent_b = a["metrics"]["mean_entropy"], b["metrics"]["mean_entropy"]
    assert ent_a["mean"] == pytest.approx(0.8) and ent_a["median"] == pytest.approx(0.8)
    assert ent_b["mean"] == pytest.approx(0.48) and ent_b["median"] == pytest.approx(0.5)
    assert a["metrics"]["loop_exists"]["mean"] == pytest.approx(0.8)
    diam_a, diam_b = a["metrics"]["diameter"], b["metrics"]["diameter"]  # NaN and None are left out
    assert diam_a["n"] == 4 and diam_a["mean"] == pytest.approx(11.75) and diam_a["median"] == pytest.approx(11.5)
    assert diam_b["n"] == 4 and diam_b["mean"] == pytest.approx(28.75) and diam_b["median"] == pytest.approx(27.5)
    for m in a["metrics"].values():
        assert m["ci_low"] <= m["mean"] <= m["ci_high"]
    assert "model_name" not in a["metrics"] and "line" not in a["metrics"]
    everything = summarize(ROWS, group_key=None)
    assert list(everything) == ["all"] and everything["all"]["n"] == 10
    assert everything["all"]["metrics"]["mean_entropy"]["mean"] == pytest.approx(0.64)


def test_bootstrap_ci_hand_cases():
    assert bootstrap_ci([3.0, 3.0, 3.0]) == (3.0, 3.0)
    # x = [0, 1]: resampled means are 0, .5, 1 with probabilities 1/4, 1/2, 1/4, so the 2.5% and 97.5%
    # percentiles are 0 and 1.
    assert bootstrap_ci([0.0, 1.0], n_boot=4000) == (0.0, 1.0)
    assert all(math.isnan(v) for v in bootstrap_ci([]))
    x = np.random.default_rng(0).normal(size=30)
    assert bootstrap_ci(x, seed=3) == bootstrap_ci(x, seed=3)
    assert bootstrap_ci(x, seed=3) != bootstrap_ci(x, seed=4)
    with pytest.raises(ValueError, match="ci must be"):
        bootstrap_ci([1.0], ci=95)


def test_bootstrap_ci_agrees_with_scipy_and_the_normal_approximation():
    x = np.random.default_rng(7).gamma(2.0, size=300)
    lo, hi = bootstrap_ci(x, n_boot=20000, seed=1)
    ref = stats.bootstrap((x,), np.mean, n_resamples=20000, method="percentile", confidence_level=0.95,
                          random_state=np.random.default_rng(2)).confidence_interval
    half = (hi - lo) / 2
    assert lo == pytest.approx(ref.low, abs=0.05 * half) and hi == pytest.approx(ref.high, abs=0.05 * half)
    normal_half = 1.96 * x.std(ddof=1) / math.sqrt(x.size)
    assert half == pytest.approx(normal_half, rel=0.05)


def test_summarize_values_drops_non_finite():
    s = summarize_values([1.0, math.nan, 3.0, math.inf])
    assert (s.n, s.mean, s.median) == (2, 2.0, 2.0)
    assert summarize_values([]).n == 0 and math.isnan(summarize_values([]).mean)


def test_paired_comparison_hand_computed(rows_file: Path):
    cmp = compare_groups(read_jsonl(rows_file), "A", "B", group_field="group", pair_field="pair",
                         metrics=["mean_entropy", "loop_count", "diameter", "loop_exists"])
    assert (cmp.n_a, cmp.n_b, cmp.n_pairs) == (5, 5, 4)
    assert cmp.detection_ratio_a == pytest.approx(0.8) and cmp.detection_ratio_b == pytest.approx(0.8)
    m = {x.metric: x for x in cmp.metrics}
    # mean_entropy, B - A per pair: p1 -0.5, p2 -0.4, p3 +0.1, p4 (0.3+0.5)/2 - 0.9 = -0.5
    ent = m["mean_entropy"]
    assert ent.n == 4 and ent.diff == pytest.approx(-0.325)
    assert ent.mean_a == pytest.approx(0.825) and ent.mean_b == pytest.approx(0.5)
    # signed ranks of |d| = .5 .4 .1 .5 -> 3.5 2 1 3.5: W+ = 1 (p3), W- = 9; statistic = min = 1
    assert ent.statistic == pytest.approx(1.0) and ent.test == "wilcoxon"
    ref = stats.wilcoxon(np.array([-0.5, -0.4, 0.1, -0.5]))
    assert ent.p_value == pytest.approx(ref.pvalue)
    assert ent.ci_low <= ent.diff <= ent.ci_high and ent.ci_high <= 0.1 and ent.ci_low >= -0.5
    # loop_count: p1 3-2, p2 1-0, p3 0-1, p4 (4+2)/2-3 -> [1, 1, -1, 0]
    lc = m["loop_count"]
    assert lc.diff == pytest.approx(0.25)
    assert lc.p_value == pytest.approx(stats.wilcoxon(np.array([1.0, 1.0, -1.0, 0.0])).pvalue)
    # diameter: p2 (A NaN) and p3 (B None) drop out: p1 20-10, p4 35-12
    assert m["diameter"].n == 2 and m["diameter"].diff == pytest.approx((10 + 23) / 2)
    assert m["loop_exists"].diff == pytest.approx((0 + 1 - 1 + 0) / 4)


def test_wilcoxon_exact_hand_value():
    rows = [{"group": g, "pair": str(i), "x": float(i * (g == "B") + (i - 1) * 0)} for i in range(1, 6)
            for g in ("A", "B")]
    for r in rows:
        if r["group"] == "A":
            r["x"] = 0.0
    cmp = compare_groups(rows, "A", "B", metrics=["x"])
    x = cmp.metrics[0]
    # d = 1..5, all positive: W- = 0, exact two-sided p = 2 / 2**5
    assert x.diff == pytest.approx(3.0) and x.statistic == 0.0 and x.p_value == pytest.approx(0.0625)


def test_all_zero_differences_give_no_test():
    rows = [{"group": g, "pair": p, "x": 1.0} for g in ("A", "B") for p in ("p", "q")]
    x = compare_groups(rows, "A", "B", metrics=["x"]).metrics[0]
    assert x.diff == 0.0 and math.isnan(x.p_value) and (x.ci_low, x.ci_high) == (0.0, 0.0)


def test_one_pair_gives_nan_statistics_with_the_reason():
    rows = [{"group": "A", "pair": "p", "x": 1.0}, {"group": "B", "pair": "p", "x": 0.5}]
    cmp = compare_groups(rows, "A", "B", metrics=["x"])
    x = cmp.metrics[0]
    assert (x.n, x.mean_a, x.mean_b, x.diff) == (1, 1.0, 0.5, -0.5) and x.note == "fewer than 2 pairs"
    assert all(math.isnan(v) for v in (x.ci_low, x.ci_high, x.statistic, x.p_value))
    assert cmp.to_table().splitlines()[-1].split()[-4:] == ["fewer", "than", "2", "pairs"]


def test_unpaired_comparison_against_scipy():
    rows = [{"group": "A", "x": v} for v in (1.0, 2.0, 3.0, 4.0)] + [{"group": "B", "x": v} for v in (3.0, 5.0, 7.0)]
    cmp = compare_groups(rows, "A", "B", pair_field=None, metrics=["x"])
    x = cmp.metrics[0]
    assert cmp.n_pairs is None and x.test == "mannwhitneyu" and x.n == 7
    assert x.diff == pytest.approx(5.0 - 2.5)
    ref = stats.mannwhitneyu([3.0, 5.0, 7.0], [1.0, 2.0, 3.0, 4.0], alternative="two-sided")
    assert x.statistic == pytest.approx(ref.statistic) and x.p_value == pytest.approx(ref.pvalue)
    assert x.ci_low <= x.diff <= x.ci_high


def test_compare_errors():
    with pytest.raises(InputError, match=r"no rows with group = 'C'; groups present: A, B"):
        compare_groups(ROWS, "A", "C")
    rows = [{"group": "A", "pair": "1", "x": 1.0}, {"group": "B", "pair": "2", "x": 2.0}]
    with pytest.raises(InputError, match="share no pair value"):
        compare_groups(rows, "A", "B", metrics=["x"])


def test_default_metrics_table_and_json(rows_file: Path):
    cmp = compare_groups(read_jsonl(rows_file), "A", "B")
    assert [m.metric for m in cmp.metrics] == ["mean_entropy", "loop_exists", "loop_count", "diameter"]
    table = cmp.to_table()
    lines = table.splitlines()
    assert lines[0] == "B (B) vs A (A): 4 pairs matched on field 'pair', groups from field 'group'; rows A=5, B=5"
    assert lines[1] == "detection ratio (share of rows with loop_exists): A=0.8 B=0.8"
    assert lines[3].split() == ["metric", "n", "mean", "A", "mean", "B", "B", "-", "A", "95%", "CI", "p",
                                "(wilcoxon)"]
    ent_line = next(line for line in lines if line.startswith("mean_entropy"))
    assert ent_line.split()[:5] == ["mean_entropy", "4", "0.825", "0.5", "-0.325"]
    d = json.loads(cmp.to_json())
    assert d["metrics"]["mean_entropy"]["diff"] == pytest.approx(-0.325) and d["n_pairs"] == 4
    assert numeric_metrics(ROWS) == ["mean_entropy", "loop_exists", "loop_count", "diameter"]
