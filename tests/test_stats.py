"""reasongraph.stats: 2x2 tables against scipy, Mantel-Haenszel against science.md's check value, textbook
formulas and statsmodels' numbers, bootstraps against an independent resampling, sign flips against enumeration;
and pool_alignment on hand tables."""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from scipy.stats import chi2, fisher_exact, norm

from reasongraph.core.errors import InputError
from reasongraph.analysis.groups.pooled_alignment import pool_alignment
from reasongraph.stats.two_by_two import TwoByTwo, fisher_p_values, odds_ratio
from reasongraph.stats.bootstrap import bootstrap_ci, bootstrap_interval, resample_chunks
from reasongraph.stats.mantel_haenszel import mantel_haenszel, pooled_share
from reasongraph.stats.paired import paired_ratio, sign_flip_p


# ---------------------------------------------------------------------- one 2x2 table
@pytest.mark.parametrize("table", [[[8, 2], [1, 5]], [[3, 4], [5, 6]], [[10, 1], [2, 12]], [[0, 5], [4, 1]]])
def test_fisher_p_values_are_scipys(table):
    t = TwoByTwo.from_table(table)
    assert t.fisher_p == pytest.approx(fisher_exact(table).pvalue, rel=1e-12)
    assert t.fisher_p_greater == pytest.approx(fisher_exact(table, alternative="greater").pvalue, rel=1e-12)
    assert t.table.dtype == np.int64 and t.table.tolist() == table


def test_fisher_p_values_on_every_small_table_and_large_ones():
    # every table with n <= 8 (symmetric margins give exact ties), then random tables up to n ~ 2,000
    tables = [[[a, b], [c, n - a - b - c]] for n in range(9) for a in range(n + 1) for b in range(n + 1 - a)
              for c in range(n + 1 - a - b)]
    rng = np.random.default_rng(0)
    tables += rng.integers(0, 500, size=(40, 2, 2)).tolist() + rng.integers(0, 12, size=(40, 2, 2)).tolist()
    for table in tables:
        two_sided, greater = fisher_p_values(table)
        assert two_sided == pytest.approx(fisher_exact(table).pvalue, rel=1e-9, abs=1e-300), table
        assert greater == pytest.approx(fisher_exact(table, alternative="greater").pvalue, rel=1e-9,
                                        abs=1e-300), table


def test_odds_ratio_plain_and_haldane():
    assert odds_ratio([[8, 2], [1, 5]]) == (pytest.approx(8 * 5 / (2 * 1)), False)
    # a zero cell: +0.5 on every cell
    ratio, corrected = odds_ratio([[0, 5], [4, 1]])
    assert corrected and ratio == pytest.approx(0.5 * 1.5 / (5.5 * 4.5))
    ratio, corrected = odds_ratio([[3, 0], [2, 4]])
    assert corrected and ratio == pytest.approx(3.5 * 4.5 / (0.5 * 2.5))
    # an empty row or column carries no association: NaN, not a Haldane echo of the other margin
    for empty in ([[0, 0], [3, 5]], [[0, 4], [0, 5]], [[0, 0], [0, 0]]):
        ratio, corrected = odds_ratio(empty)
        assert math.isnan(ratio) and not corrected
    t = TwoByTwo.from_table([[0, 0], [3, 5]])
    assert t.fisher_p == 1.0 and math.isnan(t.odds_ratio)


@pytest.mark.parametrize("bad", [[[1, 2, 3]], [[1, -1], [2, 3]], [[1.5, 1], [2, 3]], [[np.nan, 1], [2, 3]]])
def test_bad_tables_are_named(bad):
    with pytest.raises(InputError, match="table"):
        TwoByTwo.from_table(bad)


# ---------------------------------------------------------------------- Mantel-Haenszel
def _textbook_mh(tables, ci=0.95):
    """OR_MH, RBG interval and the continuity-corrected CMH test, written out stratum by stratum in floats."""
    r_sum = s_sum = pr = ps_qr = qs = 0.0
    diff = var = 0.0
    for (a, b), (c, d) in tables:
        n = a + b + c + d
        if n == 0:
            continue
        R, S, P, Q = a * d / n, b * c / n, (a + d) / n, (b + c) / n
        r_sum, s_sum = r_sum + R, s_sum + S
        pr, ps_qr, qs = pr + P * R, ps_qr + P * S + Q * R, qs + Q * S
        if n >= 2:
            diff += a - (a + b) * (a + c) / n
            var += (a + b) * (c + d) * (a + c) * (b + d) / (n * n * (n - 1))
    ratio = r_sum / s_sum
    se = math.sqrt(pr / (2 * r_sum ** 2) + ps_qr / (2 * r_sum * s_sum) + qs / (2 * s_sum ** 2))
    z = norm.ppf(0.5 + ci / 2)
    stat = max(0.0, abs(diff) - 0.5) ** 2 / var
    return ratio, ratio * math.exp(-z * se), ratio * math.exp(z * se), stat, chi2.sf(stat, 1)


def test_mantel_haenszel_check_value():
    tables = [[[2, 1], [1, 2]], [[3, 1], [1, 3]]]
    mh = mantel_haenszel(tables)
    assert mh.odds_ratio == pytest.approx(43 / 7, rel=1e-12)
    assert mh.odds_ratio == pytest.approx(6.142857, abs=1e-6)
    # by hand: E[a] = 1.5, 2; Var[a] = 81/180, 256/448; chi2 = (|1.5| - 0.5)^2 / (0.45 + 4/7)
    assert mh.statistic == pytest.approx(1 / (0.45 + 4 / 7), rel=1e-12)
    assert mh.p_value == pytest.approx(chi2.sf(1 / (0.45 + 4 / 7), 1), rel=1e-12)
    assert mh.n_strata == 2
    # statsmodels 0.15.0 StratifiedTable (oddsratio_pooled_confint, test_null_odds(correction=True)) gave these
    assert (mh.ci_low, mh.ci_high) == (pytest.approx(0.6099950301332687, rel=1e-9),
                                      pytest.approx(61.86065789635523, rel=1e-9))
    assert mh.p_value == pytest.approx(0.3224406302429702, rel=1e-9)


def test_mantel_haenszel_against_textbook_formulas_and_statsmodels():
    tables = [[[5, 2], [3, 9]], [[1, 4], [2, 2]], [[7, 1], [0, 3]]]
    mh = mantel_haenszel(tables)
    ratio, lo, hi, stat, p = _textbook_mh(tables)
    assert (mh.odds_ratio, mh.ci_low, mh.ci_high, mh.statistic, mh.p_value) == (
        pytest.approx(ratio, rel=1e-12), pytest.approx(lo, rel=1e-12), pytest.approx(hi, rel=1e-12),
        pytest.approx(stat, rel=1e-12), pytest.approx(p, rel=1e-12))
    # statsmodels 0.15.0 on the same strata
    assert mh.odds_ratio == pytest.approx(3.735216240070609, rel=1e-12)
    assert (mh.ci_low, mh.ci_high) == (pytest.approx(0.9935302993141921, rel=1e-9),
                                      pytest.approx(14.042692376586613, rel=1e-9))
    assert (mh.statistic, mh.p_value) == (pytest.approx(3.474453359440279, rel=1e-9),
                                          pytest.approx(0.062323310597226955, rel=1e-9))
    rng = np.random.default_rng(0)
    for _ in range(20):
        tables = rng.integers(0, 12, size=(int(rng.integers(2, 9)), 2, 2))
        tables[:, 0, 1] += 1  # keep sum(b c / n) > 0
        tables[:, 1, 0] += 1
        mh = mantel_haenszel(tables, ci=0.9)
        expected = _textbook_mh(tables.tolist(), ci=0.9)
        np.testing.assert_allclose([mh.odds_ratio, mh.ci_low, mh.ci_high, mh.statistic, mh.p_value], expected,
                                   rtol=1e-12)


def test_mantel_haenszel_edge_cases():
    # strata with n < 2 add nothing to the test (an n = 1 stratum has a = E[a]); empty strata are dropped
    base = [[[5, 2], [3, 9]], [[1, 4], [2, 2]]]
    with_small = mantel_haenszel(base + [[[1, 0], [0, 0]], [[0, 0], [0, 0]]])
    plain = mantel_haenszel(base)
    assert with_small.statistic == pytest.approx(plain.statistic, rel=1e-12)
    assert with_small.n_strata == 3 and plain.n_strata == 2
    # no stratum: everything NaN
    empty = mantel_haenszel(np.zeros((0, 2, 2), dtype=int))
    assert empty.n_strata == 0 and all(math.isnan(v) for v in (empty.odds_ratio, empty.ci_low, empty.statistic))
    # no informative stratum (only n = 1 or empty margins): no test; the ratio of sums may still exist
    none = mantel_haenszel([[[1, 0], [0, 0]], [[0, 3], [0, 2]]])
    assert math.isnan(none.statistic) and math.isnan(none.p_value) and math.isnan(none.odds_ratio)
    # every b c = 0 with some a d > 0: an infinite common odds ratio, no interval
    perfect = mantel_haenszel([[[3, 0], [0, 4]], [[2, 0], [1, 5]]])
    assert perfect.odds_ratio == math.inf and math.isnan(perfect.ci_low) and math.isnan(perfect.ci_high)
    assert perfect.p_value < 0.05
    # an observed sum within 0.5 of its expectation is no evidence: chi-square 0, p = 1 (not (0.5 - |d|)^2)
    balanced = mantel_haenszel([[[2, 2], [2, 2]], [[1, 1], [1, 1]]])
    assert balanced.statistic == 0.0 and balanced.p_value == 1.0 and balanced.odds_ratio == pytest.approx(1.0)
    with pytest.raises(InputError, match="tables"):
        mantel_haenszel([[1, 2], [3, 4]])


# ---------------------------------------------------------------------- bootstraps
def _resampled(n, n_boot, seed):
    """The resample indices, drawn independently of reasongraph's chunking (one chunk when n_boot * n < 2^20)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def test_pooled_share_by_hand():
    share, lo, hi = pooled_share([1, 2, 0, 0], [3, 4, 2, 0], n_boot=500, seed=4)
    assert share == pytest.approx(3 / 9)
    # the bootstrap drops the den = 0 stratum and resamples the other three
    num, den = np.array([1.0, 2.0, 0.0]), np.array([3.0, 4.0, 2.0])
    boot = [num[i].sum() / den[i].sum() for i in _resampled(3, 500, 4)]
    assert (lo, hi) == (pytest.approx(np.percentile(boot, 2.5)), pytest.approx(np.percentile(boot, 97.5)))
    assert all(math.isnan(v) for v in pooled_share([0, 0], [0, 0]))
    assert all(math.isnan(v) for v in pooled_share([], []))
    with pytest.raises(InputError, match="numerator"):
        pooled_share([3], [2])
    with pytest.raises(InputError, match="ci"):
        pooled_share([1], [2], ci=95)


def test_paired_ratio_by_hand():
    xa = np.array([2.0, 4.0, np.nan, 6.0, 8.0])
    xb = np.array([1.0, 3.0, 5.0, 2.0, np.inf])
    ratio, lo, hi = paired_ratio(xa, xb, n_boot=400, seed=2)
    a, b = np.array([2.0, 4.0, 6.0]), np.array([1.0, 3.0, 2.0])  # pairs with both values finite
    assert ratio == pytest.approx(b.mean() / a.mean())
    boot = [b[i].mean() / a[i].mean() for i in _resampled(3, 400, 2)]
    assert (lo, hi) == (pytest.approx(np.percentile(boot, 2.5)), pytest.approx(np.percentile(boot, 97.5)))
    for few in (([1.0], [2.0]), ([], []), ([1.0, np.nan], [2.0, 3.0])):
        assert all(math.isnan(v) for v in paired_ratio(*few))
    assert math.isnan(paired_ratio([0.0, 0.0], [1.0, 2.0])[0])  # mean A = 0: no ratio


def test_bootstrap_interval_skips_undefined_resamples():
    x = np.array([0.0, 0.0, 1.0])
    with np.errstate(divide="ignore"):
        lo, hi = bootstrap_interval(3, lambda idx: 1 / x[idx].mean(axis=1), n_boot=200, seed=0)
    means = x[_resampled(3, 200, 0)].mean(axis=1)
    finite = 1 / means[means > 0]
    assert (lo, hi) == (pytest.approx(np.percentile(finite, 2.5)), pytest.approx(np.percentile(finite, 97.5)))
    assert all(math.isnan(v) for v in bootstrap_interval(0, lambda idx: idx.sum(axis=1)))


def _exact_sign_flip(d):
    d = np.asarray(d, dtype=np.float64)
    observed = abs(d.sum())
    sums = [abs(sum(s * v for s, v in zip(signs, d))) for signs in itertools.product((1, -1), repeat=d.size)]
    return np.mean([s >= observed - 1e-9 for s in sums])


def _reference_bootstrap_ci(x: np.ndarray, n_boot: int, ci: float, seed: int) -> tuple[float, float]:
    """The float64 bootstrap of a mean reasongraph computed before it used scipy: one (n_boot, n) draw."""
    means = x[np.random.default_rng(seed).integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    lo, hi = np.percentile(means, [100 * (1 - ci) / 2, 100 * (1 + ci) / 2])
    return float(lo), float(hi)


@pytest.mark.parametrize("n", [2, 3, 17, 300, 3000])
def test_bootstrap_ci_is_the_float64_reference(n):
    x = np.random.default_rng(n).gamma(2.0, size=n)
    for seed, n_boot, ci in [(0, 2000, 0.95), (5, 999, 0.9)]:
        got = bootstrap_ci(x, n_boot=n_boot, ci=ci, seed=seed)
        assert got == pytest.approx(_reference_bootstrap_ci(x, n_boot, ci, seed), rel=1e-14, abs=1e-14)
    assert bootstrap_ci([2.5]) == (2.5, 2.5)  # scipy needs two values; one value is its own interval


def test_bootstrap_ci_of_values_with_nan_is_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(math.isnan(v) for v in bootstrap_ci([1.0, math.nan, 2.0]))


def test_resample_chunks_cover_every_resample_once_in_bounded_chunks():
    for n_total, n in [(2000, 1), (2000, 3000), (5, 1 << 21), (10000, 700)]:
        chunks = list(resample_chunks(n_total, n))
        assert [a for a, _ in chunks] == [0] + [b for _, b in chunks[:-1]] and chunks[-1][1] == n_total
        assert all(0 < (b - a) * n <= max(n, 1 << 20) for a, b in chunks)


def test_sign_flip_p_exact_and_monte_carlo():
    assert sign_flip_p([1.0, 2.0, 3.0]) == pytest.approx(2 / 8)  # only all-plus and all-minus reach |6|
    d = np.array([0.3, -0.1, 0.5, 0.2, 0.4, -0.05, 0.6, 0.1])
    assert sign_flip_p(d) == pytest.approx(_exact_sign_flip(d))
    assert sign_flip_p(np.zeros(4)) == 1.0
    # Monte Carlo: (1 + k) / (1 + n_perm), close to the exact value
    d = np.random.default_rng(1).normal(0.3, 1.0, size=14)
    exact = _exact_sign_flip(d)
    mc = sign_flip_p(d, n_perm=4000, seed=3)
    assert mc != exact and mc == pytest.approx(exact, abs=0.03)
    assert (mc * 4001 - 1) == pytest.approx(round(mc * 4001 - 1))
    assert sign_flip_p(d, n_perm=4000, seed=3) == mc
    assert sign_flip_p(d, n_perm=2 ** 14) == pytest.approx(exact)  # 2^n <= n_perm: enumerated
    for few in ([], [1.0], [np.nan, 2.0]):
        assert math.isnan(sign_flip_p(few))


# ---------------------------------------------------------------------- pooled over traces
def _row(cells, hidden=None, marker_revisit=None, marker_spike=None, **extra):
    (a, b), (c, d) = cells
    row = {"align_revisit_spike": a, "align_revisit_nospike": b, "align_norevisit_spike": c,
           "align_norevisit_nospike": d, "align_n_hidden_only": b if hidden is None else hidden, **extra}
    names = (("align_revisit_marker", "align_revisit_nomarker", "align_norevisit_marker", "align_norevisit_nomarker"),
             ("align_marker_spike", "align_marker_nospike", "align_nomarker_spike", "align_nomarker_nospike"))
    for fields, table in zip(names, (marker_revisit, marker_spike)):
        values = [None] * 4 if table is None else [table[0][0], table[0][1], table[1][0], table[1][1]]
        row.update(zip(fields, values))
    return row


def test_pool_alignment_on_hand_tables():
    rows = [_row([[2, 1], [1, 2]], marker_revisit=[[2, 1], [0, 3]], marker_spike=[[1, 1], [2, 2]]),
            _row([[3, 1], [1, 3]], marker_revisit=[[1, 3], [1, 3]], marker_spike=[[2, 0], [2, 4]]),
            _row([[0, 0], [2, 5]]),  # no revisit, no markers scored
            {"line": 9, "error": "failed"}]  # a failed record: no cells
    out = pool_alignment(rows, n_boot=300, seed=1)
    assert out["n_traces"] == 3 and out["mh_n_strata"] == 3
    assert out["mh_odds_ratio"] == pytest.approx(43 / 7)  # the no-revisit trace has a d = b c = 0
    check = mantel_haenszel([[[2, 1], [1, 2]], [[3, 1], [1, 3]]])
    assert out["cmh_p"] == pytest.approx(check.p_value) and out["mh_ci_low"] == pytest.approx(check.ci_low)
    assert out["cmh_statistic"] == pytest.approx(check.statistic)
    # hidden-only share: (1 + 1 + 0) / (3 + 4 + 0), the bootstrap over the two traces with revisits
    assert out["hidden_only_share"] == pytest.approx(2 / 7)
    assert (out["n_revisits"], out["n_hidden_only"]) == (7, 2)
    _, lo, hi = pooled_share([1, 1], [3, 4], n_boot=300, seed=1)
    assert (out["hidden_only_share_ci_low"], out["hidden_only_share_ci_high"]) == (lo, hi)
    mr = mantel_haenszel([[[2, 1], [0, 3]], [[1, 3], [1, 3]]])
    assert out["marker_revisit_mh_odds_ratio"] == pytest.approx((2 * 3 / 6 + 1 * 3 / 8) / (1 * 0 / 6 + 3 * 1 / 8))
    assert out["marker_revisit_cmh_p"] == pytest.approx(mr.p_value) and out["marker_revisit_mh_n_strata"] == 2
    ms = mantel_haenszel([[[1, 1], [2, 2]], [[2, 0], [2, 4]]])
    assert out["marker_spike_mh_odds_ratio"] == pytest.approx(ms.odds_ratio)
    assert out["marker_spike_mh_ci_high"] == pytest.approx(ms.ci_high)
    assert set(pool_alignment(rows, prefix="pooled_")) == {"pooled_" + k for k in out}


def test_pool_alignment_without_markers_or_rows():
    out = pool_alignment([_row([[2, 1], [1, 2]])])
    assert out["marker_revisit_mh_odds_ratio"] is None and out["marker_spike_cmh_p"] is None
    empty = pool_alignment([])
    assert empty["n_traces"] == 0 and empty["mh_odds_ratio"] is None and empty["hidden_only_share"] is None
    with pytest.raises(InputError, match="line 4.*align_revisit_spike"):
        pool_alignment([_row([[2.5, 1], [1, 2]], line=4)])
    with pytest.raises(InputError, match="align_n_hidden_only"):
        pool_alignment([_row([[2, 1], [1, 2]], hidden=4)])
