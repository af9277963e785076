"""A collapse as a share of its control's range: how much of what could fall did fall.

A ratio B/A says how far a measure fell from the reference A to the trained group B, but not how far it *could*
fall. A control group C of known collapse (the same policy at a low temperature, one-template samples) gives the
range: the share (A - B) / (A - C) is 0 when B is where A is and 1 when B is as collapsed as the control. A
measure whose control barely moves it (A - C near 0) has no range, and its share is unstable: read it beside the
control's own ratio C/A.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from reasongraph.core.options import CI, N_BOOT, SEED
from reasongraph.stats.bootstrap import bootstrap_interval

__all__ = ["control_share"]


def control_share(xa: Any, xb: Any, xc: Any, *, n_boot: int = N_BOOT.default, ci: float = CI.default,
                  seed: int = SEED.default) -> dict[str, float]:
    """(mean A - mean B) / (mean A - mean C) over the pairs (problems) where all three values are finite.

    Parameters
    ----------
    xa, xb, xc : (n_pairs,) per-pair values of the reference group A, the compared group B and the control C,
        aligned by pair.
    n_boot, ci, seed : a percentile bootstrap over pairs (each pair's three values resampled together); resamples
        where mean A = mean C are left out.

    Returns
    -------
    ``{"value", "ci_low", "ci_high", "n"}``; NaN values with fewer than 2 such pairs or when mean A = mean C.
    """
    x = np.array([np.asarray(v, dtype=np.float64).ravel() for v in (xa, xb, xc)])
    x = x[:, np.all(np.isfinite(x), axis=0)]
    n = int(x.shape[1])
    nan = {"value": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": n}
    if n < 2:
        return nan

    def share(idx: np.ndarray) -> np.ndarray:
        a, b, c = (x[i][idx].mean(axis=-1) for i in range(3))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a != c, (a - b) / np.where(a != c, a - c, 1.0), np.nan)

    value = float(share(np.arange(n)))
    if not math.isfinite(value):
        return nan
    lo, hi = bootstrap_interval(n, share, n_boot=n_boot, ci=ci, seed=seed)
    return {"value": value, "ci_low": lo, "ci_high": hi, "n": n}
