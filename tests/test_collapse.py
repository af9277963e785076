"""The length-controlled hidden level (erank_window, level_coupling) against float64 SVDs and hand ranks, and the
level-collapse table against a hand computation on four pairs."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from reasongraph.analysis.groups.level_collapse import MEASURES, collapse_table
from reasongraph.analysis.groups.per_group import FEWER_THAN_2
from reasongraph.trace.hidden.rank_dynamics import erank_window, level_coupling
from reasongraph.core.errors import InputError


# ---------------------------------------------------------------------- windows of hidden states
def _erank_svd(W):
    W = np.asarray(W, dtype=np.float64)
    s = np.linalg.svd(W - W.mean(axis=0), compute_uv=False)
    if s.sum() == 0:
        return math.nan
    p = s[s > 0] / s.sum()
    return math.exp(-np.sum(p * np.log(p)))


def test_erank_window_check_value_and_svd():
    # science.md: [[1,0,0],[0,2,0],[0,0,3],[1,1,1]] row-centered has effective rank 2.600793
    X = np.array([[1, 0, 0], [0, 2, 0], [0, 0, 3], [1, 1, 1]], dtype=np.float32)
    assert erank_window(X, window=4) == pytest.approx(2.600793, abs=1e-6)
    assert math.isnan(erank_window(X, window=5))  # fewer rows than one window
    X = np.random.default_rng(0).normal(size=(70, 24))
    expected = np.mean([_erank_svd(X[j * 16:(j + 1) * 16]) for j in range(4)])  # rows 64..69 dropped
    assert erank_window(X, window=16) == pytest.approx(expected, rel=1e-10)
    X[16:32] = X[16]  # a window of identical rows has no spread: skipped, not zero
    expected = np.mean([_erank_svd(X[j * 16:(j + 1) * 16]) for j in (0, 2, 3)])
    assert erank_window(X, window=16) == pytest.approx(expected, rel=1e-10)
    with pytest.raises(InputError, match="window"):
        erank_window(X, window=1)


def _spearman_by_hand(x, y):
    """Pearson correlation of the ranks (no ties in the test data)."""
    rx, ry = np.argsort(np.argsort(x)).astype(float), np.argsort(np.argsort(y)).astype(float)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float(rx @ ry / math.sqrt((rx @ rx) * (ry @ ry)))


def test_level_coupling_against_hand_ranks():
    rng = np.random.default_rng(1)
    W, n_windows = 10, 9
    X = rng.normal(size=(W * n_windows + 7, 12)) * rng.uniform(0.1, 3.0, size=12)  # the last 7 rows dropped
    h = rng.exponential(0.5, size=X.shape[0])
    h[[0, 13, 14]] = np.nan  # NaN-aware window means
    ranks = [_erank_svd(X[j * W:(j + 1) * W]) for j in range(n_windows)]
    means = [np.nanmean(h[j * W:(j + 1) * W]) for j in range(n_windows)]
    assert level_coupling(h, X, window=W) == pytest.approx(_spearman_by_hand(means, ranks), rel=1e-12)
    # a window whose entropies are all undefined drops out
    h2 = h.copy()
    h2[20:30] = np.nan
    keep = [j for j in range(n_windows) if j != 2]
    expected = _spearman_by_hand([means[j] for j in keep], [ranks[j] for j in keep])
    assert level_coupling(h2, X, window=W) == pytest.approx(expected, rel=1e-12)


def test_level_coupling_undefined_cases():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 5))
    assert math.isnan(level_coupling(rng.uniform(size=30), X, window=11))  # 2 windows
    assert not math.isnan(level_coupling(rng.uniform(size=30), X, window=10))  # 3 windows
    assert math.isnan(level_coupling(np.full(30, 0.3), X, window=10))  # constant entropy
    with pytest.raises(InputError, match="entropy"):
        level_coupling(np.zeros(29), X, window=10)


# ---------------------------------------------------------------------- the collapse table
A_H = [1.0, 2.0, 1.5, 0.8]  # mean_entropy of group A on pairs p0..p3
B_H = [0.5, 1.0, 0.6, 0.6]  # group B: lower on every pair
A_E = [20.0, 22.0, 18.0, np.nan]  # erank_window; pair p3 too short in A
B_E = [19.0, 21.0, 18.5, 17.0]


def _rows():
    rows = []
    for i in range(4):
        rows.append({"group": "base", "pair": f"p{i}", "mean_entropy": A_H[i], "erank_window": A_E[i],
                     "loop_count": 1, "level_coupling": [0.1, 0.3, 0.2, np.nan][i]})
        rows.append({"group": "rl", "pair": f"p{i}", "mean_entropy": B_H[i], "erank_window": B_E[i],
                     "loop_count": 1, "level_coupling": None})
    # a second sample of p0 in group B, averaged with the first: (0.3 + 0.7) / 2 = 0.5, (18 + 20) / 2 = 19
    rows[1]["mean_entropy"], rows[1]["erank_window"] = 0.3, 18.0
    rows.append({"group": "rl", "pair": "p0", "mean_entropy": 0.7, "erank_window": 20.0, "loop_count": 1})
    rows.append({"group": "rl", "pair": None, "mean_entropy": 9.0})  # no pair: left out
    rows.append({"group": "other", "pair": "p0", "mean_entropy": 9.0})
    return rows


def _resampled(n, n_boot, seed):
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _percentile_ci(values):
    return pytest.approx(np.percentile(values, 2.5), rel=1e-12), pytest.approx(np.percentile(values, 97.5), rel=1e-12)


def test_collapse_table_by_hand():
    table = collapse_table(_rows(), "base", "rl", mode="faithful", n_boot=500, seed=3)
    out = table.as_dict()
    assert (out["a"], out["b"], out["mode"], out["n_pairs"]) == ("base", "rl", "faithful", 4)
    rows = {r["key"]: r for r in out["rows"]}
    assert list(rows) == ["mean_entropy", "erank_window", "loop_count"]  # MEASURES order; absent ones skipped

    h = rows["mean_entropy"]
    assert (h["level"], h["n"], h["test"], h["note"]) == ("token", 4, "wilcoxon", "")
    assert h["mean_a"] == pytest.approx(np.mean(A_H)) and h["mean_b"] == pytest.approx(np.mean(B_H))
    assert h["ratio"] == pytest.approx(np.sum(B_H) / np.sum(A_H))
    a, b = np.array(A_H), np.array(B_H)
    boot_h = [b[i].mean() / a[i].mean() for i in _resampled(4, 500, 3)]
    assert (h["ci_low"], h["ci_high"]) == _percentile_ci(boot_h)
    assert h["p"] == pytest.approx(2 / 16)  # exact Wilcoxon, n = 4, every difference negative

    e = rows["erank_window"]
    assert (e["level"], e["n"]) == ("hidden", 3)
    ea, eb = np.array(A_E[:3]), np.array(B_E[:3])
    assert e["ratio"] == pytest.approx(eb.sum() / ea.sum())
    boot_e = [eb[i].mean() / ea[i].mean() for i in _resampled(3, 500, 3)]
    assert (e["ci_low"], e["ci_high"]) == _percentile_ci(boot_e)
    from scipy.stats import wilcoxon

    assert e["p"] == pytest.approx(wilcoxon(eb - ea).pvalue)  # differences -1, -1, +0.5 (tied ranks)

    loops = rows["loop_count"]
    assert loops["ratio"] == 1.0 and math.isnan(loops["p"]) and "no nonzero difference" in loops["note"]

    s = out["summary"]
    rh, re = np.sum(B_H) / np.sum(A_H), eb.sum() / ea.sum()
    assert s["token_collapse"]["value"] == pytest.approx(1 - rh)
    assert s["token_collapse"]["ci_low"] == pytest.approx(1 - h["ci_high"])
    assert s["hidden_collapse_erank"]["value"] == pytest.approx(1 - re)
    assert s["hidden_collapse_erank"]["ci_high"] == pytest.approx(1 - e["ci_low"])
    assert "hidden_collapse" not in s and s["renamed"] == {"hidden_collapse": "hidden_collapse_erank",
                                                           "difference": "difference_erank"}
    assert all(math.isnan(v) for v in s["hidden_collapse_spread"].values())  # no per-prompt rows given
    assert s["control_share"] is None
    # the difference uses the 3 pairs where both measures are defined
    ha, hb = a[:3], b[:3]
    d = s["difference_erank"]
    assert d["value"] == pytest.approx(eb.sum() / ea.sum() - hb.sum() / ha.sum())
    boot_d = [eb[i].mean() / ea[i].mean() - hb[i].mean() / ha[i].mean() for i in _resampled(3, 500, 3)]
    assert (d["ci_low"], d["ci_high"]) == _percentile_ci(boot_d)
    per_pair = eb / ea - hb / ha  # all positive: only all-plus and all-minus of 8 sign vectors reach the sum
    assert np.all(per_pair > 0) and d["p"] == pytest.approx(2 / 8)

    assert out["coupling"] == {"base": pytest.approx(0.2), "rl": None}
    assert out["coupling_n"] == {"base": 3, "rl": 0}  # the traces behind each median
    json.dumps(out)  # NaN stays NaN; the structure is JSON-able
    assert set(out) == {"a", "b", "mode", "n_pairs", "rows", "summary", "saturation", "coupling", "coupling_n"}
    assert set(h) == {"key", "label", "level", "mean_a", "mean_b", "ratio", "ci_low", "ci_high", "p", "test", "n",
                      "note"}
    assert set(s["difference_erank"]) == set(s["difference_spread"]) == {"value", "ci_low", "ci_high", "p"}

    text = table.to_table()
    assert text.index(MEASURES["mean_entropy"][1]) < text.index(MEASURES["erank_window"][1])
    assert "token collapse" in text and "hidden collapse 1 - erank_window" in text and "sign-flip" in text
    assert "faithful" in text and "control's range (A - B) / (A - C): n/a" in text


def test_fewer_than_two_pairs_give_nan_with_the_note():
    rows = [r for r in _rows() if r.get("pair") in ("p1", None)]
    out = collapse_table(rows, "base", "rl", n_boot=100).as_dict()
    assert out["n_pairs"] == 1
    for r in out["rows"]:
        assert r["n"] == 1 and r["note"] == FEWER_THAN_2
        assert all(math.isnan(r[k]) for k in ("ratio", "ci_low", "ci_high", "p"))
        assert not math.isnan(r["mean_a"])  # the one pair's values are still shown
    assert all(math.isnan(v) for k, part in out["summary"].items() if k not in ("control_share", "renamed")
               for v in part.values())
    # no shared pair at all: an empty table, not an error
    rows = [r for r in _rows() if not (r["group"] == "rl" and r.get("pair") is not None)]
    out = collapse_table(rows, "base", "rl", n_boot=100).as_dict()
    assert out["n_pairs"] == 0 and all(r["n"] == 0 and r["note"] == FEWER_THAN_2 for r in out["rows"])


def test_missing_group_is_named():
    with pytest.raises(InputError, match="'nope'.*base, other, rl"):
        collapse_table(_rows(), "base", "nope")
