"""Bootstrap confidence intervals (of a mean, of a difference of means, of a ratio of sums) and Wilson's interval of
a share.

Everything is float64 and seeded (``numpy.random.default_rng(seed)``): the same seed gives the same numbers."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from reasongraph.core.errors import InputError, opt
from reasongraph.core.options import CI, N_BOOT, SEED

__all__ = ["bootstrap_ci", "bootstrap_difference_ci", "bootstrap_interval", "check_boot", "resample_chunks",
           "wilson_interval"]


_BOOT_CHUNK = 1 << 20  # resampled values drawn per chunk, so memory stays bounded for large groups


# ---------------------------------------------------------------------- bounded chunks of resamples
def resample_chunks(n_total: int, n: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive chunks of ``n_total`` resamples of ``n`` units, at most ``2**20`` drawn
    values per chunk, so memory stays bounded for large groups. Chunking does not change numpy's stream of
    integers, so the resamples are those of one unchunked draw."""
    per_chunk = max(1, _BOOT_CHUNK // n)
    for start in range(0, n_total, per_chunk):
        yield start, min(n_total, start + per_chunk)


def check_boot(n_boot: int, ci: float) -> None:
    """The bootstrap settings of a public statistic: one InputError naming the option."""
    if not 0 < ci < 1:
        raise InputError(f"{opt('ci')} must be in (0, 1), got {ci!r}")
    if n_boot < 1:
        raise InputError(f"{opt('n_boot')} must be >= 1, got {n_boot!r}")


# ---------------------------------------------------------------------- bootstrap of a mean
def bootstrap_ci(x: Sequence[float] | np.ndarray, *, n_boot: int = N_BOOT.default, ci: float = CI.default,
                 seed: int = SEED.default) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``x`` (``scipy.stats.bootstrap``).

    Parameters
    ----------
    x : finite values (NaN must be dropped before).
    n_boot : number of resamples with replacement.
    ci : coverage, e.g. 0.95 for the 2.5th and 97.5th percentiles of the resampled means.
    seed : seeds ``numpy.random.default_rng``; the same seed gives the same interval.

    Returns
    -------
    (low, high); (nan, nan) for an empty ``x``; (x, x) for one value (scipy needs two).
    """
    from scipy.stats import bootstrap

    x = np.asarray(x, dtype=np.float64)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if x.size == 0:
        return math.nan, math.nan
    if x.size == 1:
        return float(x.flat[0]), float(x.flat[0])
    if not np.all(np.isfinite(x)):  # NaN or inf gives NaN bounds, as before scipy (scipy also warns, about BCa)
        return _percentiles(_boot_means(x.ravel(), n_boot, np.random.default_rng(seed)), ci)
    # batch: the chunks of resample_chunks, so memory stays bounded as ours did (the resamples are the same)
    result = bootstrap((x.ravel(),), np.mean, n_resamples=n_boot, confidence_level=ci, method="percentile",
                       batch=max(1, _BOOT_CHUNK // x.size), rng=np.random.default_rng(seed), vectorized=True)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _boot_means(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(n_boot)
    for start, stop in resample_chunks(n_boot, x.size):
        out[start:stop] = x[rng.integers(0, x.size, size=(stop - start, x.size))].mean(axis=1)
    return out


def _percentiles(values: np.ndarray, ci: float) -> tuple[float, float]:
    alpha = (1 - ci) / 2
    lo, hi = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return float(lo), float(hi)


def bootstrap_difference_ci(xa: Sequence[float] | np.ndarray, xb: Sequence[float] | np.ndarray, *,
                            n_boot: int = N_BOOT.default, ci: float = CI.default,
                            seed: int = SEED.default) -> tuple[float, float]:
    """Percentile bootstrap CI of mean(xb) - mean(xa) for two independent samples, each resampled on its own
    (B's resamples drawn first, then A's, from one generator seeded with ``seed``).

    Ours, not scipy's: scipy equals it only unbatched (an n_boot x n array); in bounded batches it interleaves
    the two samples' draws, which would change every published interval.

    Returns (nan, nan) when either sample is empty.
    """
    check_boot(n_boot, ci)
    xa, xb = np.asarray(xa, dtype=np.float64), np.asarray(xb, dtype=np.float64)
    if xa.size == 0 or xb.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    diffs = _boot_means(xb, n_boot, rng) - _boot_means(xa, n_boot, rng)
    return _percentiles(diffs, ci)


def wilson_interval(k: int, n: int, *, ci: float = CI.default) -> tuple[float, float]:
    """Wilson score interval of a proportion k / n (scipy.stats.binomtest); (nan, nan) when n == 0.

    Wilson rather than the normal approximation because detection ratios sit near 0 or 1 on small groups, where
    the normal interval leaves [0, 1].
    """
    from scipy.stats import binomtest

    if n == 0:
        return math.nan, math.nan
    interval = binomtest(int(k), int(n)).proportion_ci(confidence_level=ci, method="wilson")
    return float(interval.low), float(interval.high)


def bootstrap_interval(n: int, stat: Callable[[np.ndarray], np.ndarray], *, n_boot: int = N_BOOT.default,
                       ci: float = CI.default, seed: int = SEED.default) -> tuple[float, float]:
    """Percentile bootstrap interval of any statistic of ``n`` resampled units (traces, pairs).

    ``stat`` maps an (m, n) array of indices (m resamples of range(n) with replacement) to (m,) values, so a
    statistic of several aligned arrays resamples them together (``lambda idx: xb[idx].mean(1) /
    xa[idx].mean(1)`` keeps pairs intact). The indices are drawn in bounded chunks exactly as
    :func:`bootstrap_ci` draws them, so statistics of the same units under one seed see the same resamples.
    Resamples where the statistic is undefined (NaN, inf: e.g. a zero denominator) are left out of the
    percentiles (ours, not scipy's ``paired=True`` bootstrap, which keeps them and so fails on ratios).

    Returns
    -------
    (low, high); NaN when n = 0 or no resample gives a finite value.
    """
    check_boot(n_boot, ci)
    if n < 1:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    values = np.empty(n_boot)
    for start, stop in resample_chunks(n_boot, n):
        values[start:stop] = stat(rng.integers(0, n, size=(stop - start, n)))
    values = values[np.isfinite(values)]
    return _percentiles(values, ci) if values.size else (math.nan, math.nan)
