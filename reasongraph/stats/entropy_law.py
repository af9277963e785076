"""The entropy-performance law R = -a·exp(H) + b: the fit, its fit over checkpoints, and the law as a forecast from
the first third of a run.

The Entropy-Mechanism paper fits the law on early checkpoints and shows it predicts late ones: a law that only
fits in hindsight says little about where training saturates. The forecast fits least squares of R on exp(H) over the
first ceil(n / 3) checkpoints (at least two), and needs n >= 6 checkpoints in all, so that at least four are
forecast."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from reasongraph.core.errors import InputError, opt
from reasongraph.core.options import CI

__all__ = ["EntropyLaw", "MIN_CHECKPOINTS", "entropy_performance_fit", "fit_entropy_law", "forecast_entropy_law"]


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


@dataclass
class EntropyLaw:
    """R = -a·exp(H) + b fit over checkpoints, with intervals (NaN when there are too few checkpoints).

    ``ceiling`` = b - a is the R predicted at H = 0, where the law says training saturates.
    """

    field: str
    n: int
    a: float
    b: float
    ceiling: float
    a_ci: tuple[float, float]
    b_ci: tuple[float, float]
    ceiling_ci: tuple[float, float]
    r2: float
    ci: float

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------- the entropy law
def fit_entropy_law(H: Sequence[float], R: Sequence[float], *, ci: float = CI.default, field: str = "R") -> EntropyLaw:
    """Fit R = -a·exp(H) + b over checkpoints, with t intervals from the least-squares covariance.

    The law is linear in x = -exp(H): R = a·x + b. With n points, residual variance s² = RSS / (n - 2) and the
    covariance s²·(XᵀX)⁻¹ of (a, b), each of a, b and the ceiling b - a (variance var a + var b - 2 cov(a, b))
    gets estimate ± t_{n-2, (1+ci)/2}·se: exact when the residuals are independent and normal. Non-finite points
    are left out. Intervals are NaN with n = 2 (an exact fit, no residual left).

    Raises
    ------
    ValueError : fewer than two finite points, or fewer than two distinct entropies (from
        :func:`reasongraph.stats.entropy_law.entropy_performance_fit`); ``ci`` outside (0, 1).
    """
    from scipy.stats import t as student_t

    if not 0 < ci < 1:
        raise InputError(f"{opt('ci')} must be in (0, 1), got {ci!r}")
    H, R = np.asarray(H, dtype=np.float64), np.asarray(R, dtype=np.float64)
    ok = np.isfinite(H) & np.isfinite(R)
    H, R = H[ok], R[ok]
    a, b = entropy_performance_fit(H, R)
    n = H.size
    X = np.column_stack([-np.exp(H), np.ones_like(H)])
    resid = R - X @ np.array([a, b])
    total = float(((R - R.mean()) ** 2).sum())
    r2 = 1 - float(resid @ resid) / total if total > 0 else math.nan
    nan2 = (math.nan, math.nan)
    if n < 3:
        return EntropyLaw(field, n, a, b, b - a, nan2, nan2, nan2, r2, ci)
    cov = float(resid @ resid) / (n - 2) * np.linalg.inv(X.T @ X)
    q = float(student_t.ppf((1 + ci) / 2, n - 2))
    se_a, se_b = math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1])
    se_c = math.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0))
    return EntropyLaw(field, n, a, b, b - a, (a - q * se_a, a + q * se_a), (b - q * se_b, b + q * se_b),
                      (b - a - q * se_c, b - a + q * se_c), r2, ci)


def entropy_performance_fit(H: np.ndarray, R: np.ndarray) -> tuple[float, float]:
    """Fit the entropy-performance law R = -a * exp(H) + b (Entropy-Mechanism paper) by least squares.

    Parameters
    ----------
    H : (n,) mean policy entropy of each checkpoint, nats.
    R : (n,) accuracy of each checkpoint.

    Returns
    -------
    (a, b) : floats; the predicted ceiling at H = 0 is b - a.
    """
    H = np.asarray(H, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    if H.ndim != 1 or R.shape != H.shape:
        raise InputError(f"{opt('H')} and {opt('R')} must be 1-D arrays of the same length, got shapes {H.shape} "
                         f"and {R.shape}")
    if not (np.all(np.isfinite(H)) and np.all(np.isfinite(R))):
        raise InputError(f"{opt('H')} and {opt('R')} must be finite")
    if np.unique(H).size < 2:
        raise InputError(f"{opt('H')} must hold at least two distinct entropies to fit a and b")
    design = np.column_stack([-np.exp(H), np.ones_like(H)])
    (a, b), *_ = np.linalg.lstsq(design, R, rcond=None)
    return float(a), float(b)
