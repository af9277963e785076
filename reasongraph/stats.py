"""Statistics over traces and pairs, all seeded and in float64: bootstrap confidence intervals."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["bootstrap_ci"]

_BOOT_CHUNK = 1 << 20  # resampled values drawn per chunk, so memory stays bounded for large groups


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
