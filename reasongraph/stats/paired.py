"""Two groups paired by problem: the ratio of their means with a bootstrap CI, the sign-flip test and Holm's
correction for several tests."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from reasongraph.core.errors import InputError, opt
from reasongraph.core.options import CI, N_BOOT, SEED
from reasongraph.stats.bootstrap import bootstrap_interval, check_boot, resample_chunks

__all__ = ["holm", "paired_ratio", "sign_flip_p"]


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


def paired_ratio(xa: Any, xb: Any, *, n_boot: int = N_BOOT.default, ci: float = CI.default,
                 seed: int = SEED.default) -> tuple[float, float, float]:
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
    check_boot(n_boot, ci)
    xa, xb = _finite_pairs(xa, xb)
    if xa.size < 2:
        return math.nan, math.nan, math.nan
    lo, hi = bootstrap_interval(xa.size, lambda idx: _ratio_of_means(xa[idx], xb[idx]), n_boot=n_boot, ci=ci,
                                seed=seed)
    return float(_ratio_of_means(xa, xb)), lo, hi


def sign_flip_p(d: Any, *, n_perm: int = 10000, seed: int = SEED.default) -> float:
    """Two-sided sign-flip permutation p-value of mean(d) = 0 (paired differences symmetric around 0).

    Under the null each difference is as likely to be +d_i as -d_i. The statistic is |sum(d)|; p is the share of
    sign vectors whose |sum(s d)| reaches it (within 1e-9 relative, so sums equal up to round-off count as
    ties). With 2^n <= n_perm every sign vector is enumerated (exact p, at least 2 / 2^n since flipping all
    signs ties); otherwise n_perm random sign vectors give p = (1 + k) / (1 + n_perm), which never reports 0.
    Ours, not ``scipy.stats.permutation_test``: its exact branch agrees, its Monte Carlo draws differ.

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
    k = 0
    for start, stop in resample_chunks(n_perm, n):
        signs = 1 - 2 * rng.integers(0, 2, size=(stop - start, n))
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
