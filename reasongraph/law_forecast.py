"""The entropy-performance law as a forecast: fit R = -a·exp(H) + b on the first third of a run's checkpoints,
predict R for the rest from their entropies, and report how far off the prediction was.

The Entropy-Mechanism paper fits the law on early checkpoints and shows it predicts late ones: a law that only
fits in hindsight says little about where training saturates. The fit is least squares of R on exp(H)
(:func:`reasongraph.signals.entropy_performance_fit`) over the first ceil(n / 3) checkpoints (at least two), and
needs n >= 6 checkpoints in all, so that at least four are forecast.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from reasongraph.signals import entropy_performance_fit

__all__ = ["MIN_CHECKPOINTS", "forecast_entropy_law"]

MIN_CHECKPOINTS = 6


def forecast_entropy_law(H: Sequence[float], R: Sequence[float], *, field: str = "R") -> dict | None:
    """Fit on the first third, forecast the rest.

    Parameters
    ----------
    H, R : per checkpoint in step order, mean token entropy (nats) and accuracy or reward; checkpoints where
        either is not finite are left out first.
    field : the name of R, kept in the result.

    Returns
    -------
    None with fewer than :data:`MIN_CHECKPOINTS` usable checkpoints or fewer than two distinct entropies in the
    fitted part; else {"field", "n", "n_fit", "a", "b", "ceiling", "forecast": [predicted R of each later
    checkpoint], "observed": [...], "mae", "rmse", "max_error"}.
    """
    H, R = np.asarray(H, dtype=np.float64), np.asarray(R, dtype=np.float64)
    ok = np.isfinite(H) & np.isfinite(R)
    H, R = H[ok], R[ok]
    n = H.size
    if n < MIN_CHECKPOINTS:
        return None
    n_fit = max(2, math.ceil(n / 3))
    if np.unique(H[:n_fit]).size < 2:
        return None
    a, b = entropy_performance_fit(H[:n_fit], R[:n_fit])
    predicted = -a * np.exp(H[n_fit:]) + b
    error = predicted - R[n_fit:]
    return {"field": field, "n": int(n), "n_fit": int(n_fit), "a": float(a), "b": float(b), "ceiling": float(b - a),
            "forecast": [float(v) for v in predicted], "observed": [float(v) for v in R[n_fit:]],
            "mae": float(np.abs(error).mean()), "rmse": float(np.sqrt((error ** 2).mean())),
            "max_error": float(np.abs(error).max())}
