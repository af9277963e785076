"""The statistics of reasongraph's comparisons: 2x2 tables, Mantel-Haenszel pooling, bootstraps, sign flips.

Per trace, the alignment of revisits with onset spikes is a 2x2 table (:class:`TwoByTwo`: odds ratio and
Fisher's exact test). Over a run or group the traces are strata: :func:`mantel_haenszel` pools their tables
without letting long traces or between-trace differences in base rates fake an association, and
:func:`pooled_share` gives a ratio of sums (such as the hidden-only share of all revisits) with a bootstrap CI
over traces. Two groups paired by problem are compared by ratios of means (:func:`paired_ratio`) and
sign-flip tests (:func:`sign_flip_p`).

Everything is float64 and seeded (``numpy.random.default_rng(seed)``): the same seed gives the same numbers.
scipy.stats supplies the hypergeometric, chi-square and normal distributions (and the reference values of
Fisher's test, see :func:`fisher_p_values`); it has no Mantel-Haenszel estimator, a ratio-of-sums bootstrap or a
sign-flip test, so those few lines live here.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reasongraph.errors import InputError, opt

__all__ = [
    "MantelHaenszel",
    "TwoByTwo",
    "bootstrap_ci",
    "bootstrap_interval",
    "fisher_p_values",
    "holm",
    "mantel_haenszel",
    "odds_ratio",
    "paired_ratio",
    "pooled_share",
    "sign_flip_p",
]

_BOOT_CHUNK = 1 << 20  # resampled values drawn per chunk, so memory stays bounded for large groups


# ---------------------------------------------------------------------- bootstrap of a mean
def bootstrap_ci(x: Sequence[float] | np.ndarray, n_boot: int = 2000, ci: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``x``.

    Parameters
    ----------
    x : finite values (NaN must be dropped before).
    n_boot : number of resamples with replacement.
    ci : coverage, e.g. 0.95 for the 2.5th and 97.5th percentiles of the resampled means.
    seed : seeds ``numpy.random.default_rng``; the same seed gives the same interval.

    Returns
    -------
    (low, high); (nan, nan) for an empty ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if x.size == 0:
        return math.nan, math.nan
    means = _boot_means(x, n_boot, np.random.default_rng(seed))
    return _percentiles(means, ci)


def _boot_means(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    n = x.size
    per_chunk = max(1, _BOOT_CHUNK // n)
    out = np.empty(n_boot)
    for start in range(0, n_boot, per_chunk):
        stop = min(n_boot, start + per_chunk)
        out[start:stop] = x[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    return out


def _percentiles(values: np.ndarray, ci: float) -> tuple[float, float]:
    alpha = (1 - ci) / 2
    lo, hi = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return float(lo), float(hi)


def _check_boot(n_boot: int, ci: float) -> None:
    if not 0 < ci < 1:
        raise InputError(f"{opt('ci')} must be in (0, 1), got {ci!r}")
    if n_boot < 1:
        raise InputError(f"{opt('n_boot')} must be >= 1, got {n_boot!r}")


def bootstrap_difference_ci(xa: Sequence[float] | np.ndarray, xb: Sequence[float] | np.ndarray, *,
                            n_boot: int = 2000, ci: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of mean(xb) - mean(xa) for two independent samples, each resampled on its own
    (B's resamples drawn first, then A's, from one generator seeded with ``seed``).

    Returns (nan, nan) when either sample is empty.
    """
    _check_boot(n_boot, ci)
    xa, xb = np.asarray(xa, dtype=np.float64), np.asarray(xb, dtype=np.float64)
    if xa.size == 0 or xb.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    diffs = _boot_means(xb, n_boot, rng) - _boot_means(xa, n_boot, rng)
    return _percentiles(diffs, ci)


def wilson_interval(k: int, n: int, ci: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion k / n (scipy.stats.binomtest); (nan, nan) when n == 0.

    Wilson rather than the normal approximation because detection ratios sit near 0 or 1 on small groups, where
    the normal interval leaves [0, 1].
    """
    from scipy.stats import binomtest

    if n == 0:
        return math.nan, math.nan
    interval = binomtest(int(k), int(n)).proportion_ci(confidence_level=ci, method="wilson")
    return float(interval.low), float(interval.high)


def bootstrap_interval(n: int, stat: Callable[[np.ndarray], np.ndarray], *, n_boot: int = 2000, ci: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of any statistic of ``n`` resampled units (traces, pairs).

    ``stat`` maps an (m, n) array of indices (m resamples of range(n) with replacement) to (m,) values, so a
    statistic of several aligned arrays resamples them together (``lambda idx: xb[idx].mean(1) /
    xa[idx].mean(1)`` keeps pairs intact). The indices are drawn in bounded chunks exactly as
    :func:`bootstrap_ci` draws them, so statistics of the same units under one seed see the same resamples.
    Resamples where the statistic is undefined (NaN, inf: e.g. a zero denominator) are left out of the
    percentiles.

    Returns
    -------
    (low, high); NaN when n = 0 or no resample gives a finite value.
    """
    _check_boot(n_boot, ci)
    if n < 1:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    per_chunk = max(1, _BOOT_CHUNK // n)
    values = np.empty(n_boot)
    for start in range(0, n_boot, per_chunk):
        stop = min(n_boot, start + per_chunk)
        values[start:stop] = stat(rng.integers(0, n, size=(stop - start, n)))
    values = values[np.isfinite(values)]
    return _percentiles(values, ci) if values.size else (math.nan, math.nan)


# ---------------------------------------------------------------------- one 2x2 table
def _as_table(table: Any, name: str = "table") -> np.ndarray:
    t = np.asarray(table)
    if t.shape != (2, 2):
        raise InputError(f"{name} must be a 2x2 table of counts, got shape {t.shape}")
    if t.dtype == bool or not np.issubdtype(t.dtype, np.number) or not np.all(np.isfinite(t)) \
            or np.any(t < 0) or np.any(t != np.round(t)):
        raise InputError(f"{name} must hold non-negative integer counts, got {t.tolist()}")
    return t.astype(np.int64)


def odds_ratio(table: Any) -> tuple[float, bool]:
    """Sample odds ratio a d / (b c) of a 2x2 table [[a, b], [c, d]], with the Haldane-Anscombe correction.

    When a cell is 0 the plain ratio is 0 or infinite; the Haldane-Anscombe correction adds 0.5 to every cell
    first, and the second value says that it did. A table with an empty row or column (e.g. a trace without
    revisits) says nothing about association: the corrected ratio would only echo the other margin (for
    [[0, 0], [3, 5]] it gives 1.57), so its odds ratio is NaN (uncorrected) instead.

    Parameters
    ----------
    table : 2x2 non-negative counts, rows exposure yes/no, columns outcome yes/no.

    Returns
    -------
    (odds_ratio, corrected)
    """
    t = _as_table(table).astype(np.float64)
    if np.any(t.sum(axis=0) == 0) or np.any(t.sum(axis=1) == 0):
        return math.nan, False
    corrected = bool(np.any(t == 0))
    if corrected:
        t = t + 0.5
    return float(t[0, 0] * t[1, 1] / (t[0, 1] * t[1, 0])), corrected


def fisher_p_values(table: Any) -> tuple[float, float]:
    """Fisher's exact test of a 2x2 table: (two-sided p, one-sided p against odds ratio > 1).

    The values of ``scipy.stats.fisher_exact`` (two-sided and ``alternative="greater"``), computed from one
    vectorized ``scipy.stats.hypergeom.pmf`` over the table's support: given the margins, a = table[0, 0] is
    hypergeometric; "greater" sums P(X >= a), two-sided sums P(X = x) over every x no more likely than a (within a
    relative 1e-7, as R's ``fisher.test``, so that ties up to round-off count). scipy's own two-sided path
    binary-searches with scalar pmf calls (about 2 ms a table, three tables a trace); this takes about 0.4 ms.
    A table with an empty row or column gives (1.0, 1.0), as scipy does.
    """
    from scipy.stats import hypergeom

    t = _as_table(table)
    if np.any(t.sum(axis=0) == 0) or np.any(t.sum(axis=1) == 0):
        return 1.0, 1.0
    a, row, col, n = int(t[0, 0]), int(t[0].sum()), int(t[:, 0].sum()), int(t.sum())
    x = np.arange(max(0, row + col - n), min(row, col) + 1)
    pmf = hypergeom.pmf(x, n, row, col)
    observed = pmf[a - x[0]]
    return (min(1.0, float(pmf[pmf <= observed * (1 + 1e-7)].sum())),
            min(1.0, float(pmf[x >= a].sum())))


@dataclass(frozen=True, eq=False)
class TwoByTwo:
    """A 2x2 table of counts with its statistics.

    Attributes
    ----------
    table : (2, 2) int64, rows exposure yes/no, columns outcome yes/no.
    odds_ratio, odds_ratio_corrected : from :func:`odds_ratio` (Haldane-Anscombe +0.5 when a cell is 0).
    fisher_p : two-sided p of Fisher's exact test (:func:`fisher_p_values`, the value of
        ``scipy.stats.fisher_exact``; 1.0 when a margin is empty).
    fisher_p_greater : one-sided p of the same test against the alternative odds ratio > 1.
    """

    table: np.ndarray
    odds_ratio: float
    odds_ratio_corrected: bool
    fisher_p: float
    fisher_p_greater: float

    @classmethod
    def from_table(cls, table: Any) -> TwoByTwo:
        """The statistics of ``table`` (2x2 non-negative counts)."""
        t = _as_table(table)
        ratio, corrected = odds_ratio(t)
        two_sided, greater = fisher_p_values(t)
        return cls(table=t, odds_ratio=ratio, odds_ratio_corrected=corrected, fisher_p=two_sided,
                   fisher_p_greater=greater)

    def stats_dict(self, prefix: str) -> dict[str, float | bool]:
        """``{prefix}_odds_ratio``, ``{prefix}_odds_ratio_corrected``, ``{prefix}_fisher_p(_greater)``."""
        return {f"{prefix}_odds_ratio": self.odds_ratio, f"{prefix}_odds_ratio_corrected": self.odds_ratio_corrected,
                f"{prefix}_fisher_p": self.fisher_p, f"{prefix}_fisher_p_greater": self.fisher_p_greater}


# ---------------------------------------------------------------------- strata of 2x2 tables
@dataclass(frozen=True)
class MantelHaenszel:
    """A common odds ratio over strata of 2x2 tables, with the Cochran-Mantel-Haenszel test.

    Attributes
    ----------
    odds_ratio : OR_MH = sum(a d / n) / sum(b c / n) over strata with n > 0; inf when every stratum has
        b c = 0 and some has a d > 0, NaN when both sums are 0 (or there is no stratum).
    ci_low, ci_high : Robins-Breslow-Greenland confidence interval, exp(log OR_MH -/+ z se); NaN when OR_MH is
        0, inf or NaN.
    statistic : CMH chi-square with the 0.5 continuity correction, 1 degree of freedom.
    p_value : its upper tail, ``scipy.stats.chi2.sf(statistic, 1)`` (two-sided in the odds ratio).
    n_strata : strata with n > 0, the ones that enter OR_MH.
    """

    odds_ratio: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    n_strata: int

    def as_dict(self) -> dict[str, float | int]:
        return {"odds_ratio": self.odds_ratio, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "statistic": self.statistic, "p_value": self.p_value, "n_strata": self.n_strata}


def _as_strata(tables: Any) -> np.ndarray:
    t = np.asarray(tables)
    if t.size == 0:
        return np.zeros((0, 2, 2), dtype=np.int64)
    if t.ndim != 3 or t.shape[1:] != (2, 2):
        raise InputError(f"tables must be a sequence of 2x2 tables, got shape {t.shape}")
    return np.stack([_as_table(x, f"tables[{i}]") for i, x in enumerate(t)])


def mantel_haenszel(tables: Any, *, ci: float = 0.95) -> MantelHaenszel:
    """Mantel-Haenszel common odds ratio of strata (here: traces), its RBG interval and the CMH test.

    With stratum k = [[a, b], [c, d]] and n = a + b + c + d:

    - OR_MH = sum(a d / n) / sum(b c / n), over strata with n > 0.
    - CMH chi-square = (max(0, |sum(a - E[a])| - 0.5))^2 / sum Var[a], with E[a] = (a + b)(a + c) / n and
      Var[a] = (a + b)(c + d)(a + c)(b + d) / (n^2 (n - 1)) (hypergeometric), over strata with n >= 2. The 0.5
      is the usual continuity correction; the max(0, .) keeps an observed sum within 0.5 of its expectation at
      chi-square 0 (subtracting blindly, as statsmodels' ``test_null_odds`` does, would turn a perfect fit into
      evidence). A stratum with n < 2 has a - E[a] = 0 and no variance, so it adds nothing to the test.
    - Robins-Breslow-Greenland variance of log OR_MH, with P = (a + d)/n, Q = (b + c)/n, R = a d/n, S = b c/n:
      sum(P R) / (2 R+^2) + sum(P S + Q R) / (2 R+ S+) + sum(Q S) / (2 S+^2).

    Edge cases: no stratum with n > 0, or sum(a d / n) = sum(b c / n) = 0 -> OR_MH NaN; only b c = 0 -> inf;
    an infinite, zero or NaN OR_MH has a NaN interval; no stratum with Var[a] > 0 (no informative stratum:
    every one has n < 2 or an empty margin) -> statistic and p NaN.

    Parameters
    ----------
    tables : (n_strata, 2, 2) non-negative counts, rows exposure yes/no, columns outcome yes/no.
    ci : coverage of the interval.

    Returns
    -------
    MantelHaenszel
    """
    from scipy.stats import chi2, norm

    if not 0 < ci < 1:
        raise InputError(f"{opt('ci')} must be in (0, 1), got {ci!r}")
    t = _as_strata(tables).astype(np.float64)
    t = t[t.sum(axis=(1, 2)) > 0]
    a, b, c, d = t[:, 0, 0], t[:, 0, 1], t[:, 1, 0], t[:, 1, 1]
    n = a + b + c + d
    R, S = a * d / n, b * c / n
    r_sum, s_sum = float(R.sum()), float(S.sum())
    if s_sum > 0:
        ratio = r_sum / s_sum
    else:
        ratio = math.inf if r_sum > 0 else math.nan

    lo = hi = math.nan
    if 0 < ratio < math.inf:
        P, Q = (a + d) / n, (b + c) / n
        var = (np.sum(P * R) / (2 * r_sum ** 2) + np.sum(P * S + Q * R) / (2 * r_sum * s_sum)
               + np.sum(Q * S) / (2 * s_sum ** 2))
        half = float(norm.ppf(0.5 + ci / 2)) * math.sqrt(var)
        lo, hi = ratio * math.exp(-half), ratio * math.exp(half)

    big = n >= 2
    expected = (a + b)[big] * (a + c)[big] / n[big]
    variance = float(np.sum((a + b)[big] * (c + d)[big] * (a + c)[big] * (b + d)[big]
                            / (n[big] ** 2 * (n[big] - 1))))
    statistic = p = math.nan
    if variance > 0:
        statistic = max(0.0, abs(float(np.sum(a[big] - expected))) - 0.5) ** 2 / variance
        p = float(chi2.sf(statistic, 1))
    return MantelHaenszel(odds_ratio=float(ratio), ci_low=float(lo), ci_high=float(hi), statistic=float(statistic),
                          p_value=p, n_strata=int(t.shape[0]))


# ---------------------------------------------------------------------- pooled share over strata
def pooled_share(numerators: Any, denominators: Any, *, n_boot: int = 2000, ci: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """A ratio of sums over strata, sum(num) / sum(den), with a percentile bootstrap CI over strata.

    E.g. the hidden-only share of a group: hidden-only revisits over all revisits, pooled over traces, so a trace
    counts by its revisits. The bootstrap resamples strata with replacement and recomputes the ratio of sums;
    strata with den = 0 are dropped first (they change neither sum, and would only make some resamples
    undefined).

    Parameters
    ----------
    numerators, denominators : (n_strata,) counts with 0 <= num <= den.
    n_boot, ci, seed : bootstrap settings.

    Returns
    -------
    (share, ci_low, ci_high); all NaN when sum(den) = 0.
    """
    _check_boot(n_boot, ci)
    num = np.asarray(numerators, dtype=np.float64).ravel()
    den = np.asarray(denominators, dtype=np.float64).ravel()
    if num.shape != den.shape:
        raise InputError(f"numerators and denominators must have the same length, got {num.size} and {den.size}")
    if not (np.all(np.isfinite(num)) and np.all(np.isfinite(den))) or np.any(num < 0) or np.any(num > den):
        raise InputError("pooled_share needs finite counts with 0 <= numerator <= denominator in every stratum")
    keep = den > 0
    num, den = num[keep], den[keep]
    if num.size == 0:
        return math.nan, math.nan, math.nan
    lo, hi = bootstrap_interval(num.size, lambda idx: num[idx].sum(axis=1) / den[idx].sum(axis=1),
                                n_boot=n_boot, ci=ci, seed=seed)
    return float(num.sum() / den.sum()), lo, hi


# ---------------------------------------------------------------------- paired groups
def _finite_pairs(xa: Any, xb: Any) -> tuple[np.ndarray, np.ndarray]:
    xa = np.asarray(xa, dtype=np.float64).ravel()
    xb = np.asarray(xb, dtype=np.float64).ravel()
    if xa.shape != xb.shape:
        raise InputError(f"paired values must have the same length, got {xa.size} and {xb.size}")
    ok = np.isfinite(xa) & np.isfinite(xb)
    return xa[ok], xb[ok]


def _ratio_of_means(xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """mean(xb) / mean(xa) along the last axis; NaN where mean(xa) = 0 (the ratio is undefined)."""
    ma, mb = xa.mean(axis=-1), xb.mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ma != 0, mb / np.where(ma != 0, ma, 1.0), np.nan)


def paired_ratio(xa: Any, xb: Any, *, n_boot: int = 2000, ci: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """Ratio of means mean(xb) / mean(xa) over pairs, with a paired percentile bootstrap CI.

    Only pairs where both values are finite count. The bootstrap resamples pairs (keeping each A with its B)
    and recomputes the ratio; resamples whose mean(xa) is 0 are undefined and left out of the percentiles.

    Parameters
    ----------
    xa, xb : (n_pairs,) values of group A and group B, aligned by pair.
    n_boot, ci, seed : bootstrap settings.

    Returns
    -------
    (ratio, ci_low, ci_high); all NaN with fewer than 2 finite pairs, the ratio NaN when mean(xa) = 0.
    """
    _check_boot(n_boot, ci)
    xa, xb = _finite_pairs(xa, xb)
    if xa.size < 2:
        return math.nan, math.nan, math.nan
    lo, hi = bootstrap_interval(xa.size, lambda idx: _ratio_of_means(xa[idx], xb[idx]), n_boot=n_boot, ci=ci,
                                seed=seed)
    return float(_ratio_of_means(xa, xb)), lo, hi


def sign_flip_p(d: Any, *, n_perm: int = 10000, seed: int = 0) -> float:
    """Two-sided sign-flip permutation p-value of mean(d) = 0 (paired differences symmetric around 0).

    Under the null each difference is as likely to be +d_i as -d_i. The statistic is |sum(d)|; p is the share of
    sign vectors whose |sum(s d)| reaches it (within 1e-9 relative, so sums equal up to round-off count as
    ties). With 2^n <= n_perm every sign vector is enumerated (exact p, at least 2 / 2^n since flipping all
    signs ties); otherwise n_perm random sign vectors give p = (1 + k) / (1 + n_perm), which never reports 0.

    Parameters
    ----------
    d : (n,) paired differences; non-finite values are dropped.
    n_perm : permutations (the enumeration threshold and the Monte Carlo size).
    seed : seed of the random sign vectors.

    Returns
    -------
    float; NaN with fewer than 2 finite differences.
    """
    if n_perm < 1:
        raise InputError(f"{opt('n_perm')} must be >= 1, got {n_perm!r}")
    d = np.asarray(d, dtype=np.float64).ravel()
    d = d[np.isfinite(d)]
    n = d.size
    if n < 2:
        return math.nan
    observed = abs(float(d.sum()))
    tol = 1e-9 * float(np.abs(d).sum())
    if n <= 62 and 2 ** n <= n_perm:
        bits = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
        null = np.abs((1 - 2 * bits) @ d)
        return float(np.mean(null >= observed - tol))
    rng = np.random.default_rng(seed)
    per_chunk = max(1, _BOOT_CHUNK // n)
    k = 0
    for start in range(0, n_perm, per_chunk):
        m = min(n_perm, start + per_chunk) - start
        signs = 1 - 2 * rng.integers(0, 2, size=(m, n))
        k += int(np.count_nonzero(np.abs(signs @ d) >= observed - tol))
    return float((1 + k) / (1 + n_perm))


def holm(p: Any) -> np.ndarray:
    """Holm's step-down adjustment of p-values for a family of tests (here: one per layer).

    Sorted ascending, p_(j) becomes max over i <= j of min(1, (m - i + 1) p_(i)), m the number of finite
    p-values; NaN stays NaN and does not count in m. It controls the family-wise error rate under any dependence
    between the tests (layers of one model are strongly dependent), and is uniformly more powerful than
    Bonferroni. scipy.stats has no Holm adjustment (its false_discovery_control is Benjamini-Hochberg).
    """
    p = np.asarray(p, dtype=np.float64).ravel()
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out
