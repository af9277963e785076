"""The temperature-equivalent of a collapse: the one temperature t on A's logits whose per-token entropies best
match B's, t* = argmin_t sum_i (H(softmax(z_i^A / t)) - H_i^B)^2, and the share of the mismatch it explains,
1 - SSE(t*) / SSE(1) (science.md).

A readout that only sharpens A's distributions (B's logits = A's / 0.6) gives t* = 0.6 and a share explained of 1;
a change that moves different tokens differently leaves a share well below 1, whatever t. The search is in two
steps: every grid temperature's SSE from one tiled head pass (the caller's ``grid_entropy``), then Brent's bounded
method (scipy.optimize.minimize_scalar) between the best grid point's neighbours, each step an exact entropy
evaluation (``entropy_at``).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["TEMPERATURE_GRID", "fit_temperature"]

#: 49 temperatures, log-spaced from 0.05 to 20 (ratio 1.133 between neighbours).
TEMPERATURE_GRID = tuple(float(t) for t in np.geomspace(0.05, 20.0, 49))


def fit_temperature(target: np.ndarray, grid: np.ndarray, grid_entropy: np.ndarray,
                    entropy_at: Callable[[float], np.ndarray], *, baseline: float = 1.0,
                    xatol: float = 1e-6) -> dict:
    """Fit t* over tokens.

    Parameters
    ----------
    target : (n,) B's entropies, nats.
    grid : (K,) increasing temperatures; grid_entropy : (n, K) A's entropies at each of them.
    entropy_at : t -> (n,) A's entropies at temperature t, exactly.
    baseline : the temperature the analysis reads A at (SSE(1) of the definition is SSE(baseline)).
    xatol : Brent's absolute tolerance on t.

    Returns
    -------
    {"t_star", "share_explained", "sse_t_star", "sse_baseline", "n_tokens", "at_grid_edge"}; NaN without tokens.
    ``at_grid_edge`` flags a best grid point at either end of the grid (the optimum may lie outside it).
    """
    from scipy.optimize import minimize_scalar

    target = np.asarray(target, dtype=np.float64)
    grid, grid_entropy = np.asarray(grid, dtype=np.float64), np.asarray(grid_entropy, dtype=np.float64)
    if target.size == 0:
        return {"t_star": math.nan, "share_explained": math.nan, "sse_t_star": math.nan, "sse_baseline": math.nan,
                "n_tokens": 0, "at_grid_edge": False}

    def sse(t: float) -> float:
        return float(((np.asarray(entropy_at(float(t)), dtype=np.float64) - target) ** 2).sum())

    sse_grid = ((grid_entropy - target[:, None]) ** 2).sum(axis=0)
    k = int(np.argmin(sse_grid))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    best_t, best = float(grid[k]), float(sse_grid[k])
    if hi > lo:
        found = minimize_scalar(sse, bounds=(lo, hi), method="bounded", options={"xatol": xatol})
        if found.fun <= best:
            best_t, best = float(found.x), float(found.fun)
    base = sse(baseline)
    return {"t_star": best_t, "share_explained": 1.0 - best / base if base > 0 else math.nan, "sse_t_star": best,
            "sse_baseline": base, "n_tokens": int(target.size), "at_grid_edge": k in (0, grid.size - 1)}
