"""Pooling many 2x2 tables (traces as strata): the Mantel-Haenszel odds ratio and test, and a ratio of sums with a
bootstrap CI over traces.

scipy.stats has no Mantel-Haenszel estimator or ratio-of-sums bootstrap, so those few lines live here."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from reasongraph.core.errors import InputError, opt
from reasongraph.core.options import CI, N_BOOT, SEED
from reasongraph.stats.bootstrap import bootstrap_interval, check_boot
from reasongraph.stats.two_by_two import as_table

__all__ = ["MantelHaenszel", "mantel_haenszel", "pooled_share"]


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
    return np.stack([as_table(x, f"tables[{i}]") for i, x in enumerate(t)])


def mantel_haenszel(tables: Any, *, ci: float = CI.default) -> MantelHaenszel:
    """Mantel-Haenszel common odds ratio of strata (here: traces), its RBG interval and the CMH test.

    Ours: scipy.stats has no Mantel-Haenszel estimator (statsmodels has, but is no dependency and its test differs).

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
def pooled_share(numerators: Any, denominators: Any, *, n_boot: int = N_BOOT.default, ci: float = CI.default,
                 seed: int = SEED.default) -> tuple[float, float, float]:
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
    check_boot(n_boot, ci)
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
