"""The temperature-equivalent of a collapse: the one temperature t on A's logits whose per-token entropies best
match B's, t* = argmin_t sum_i (H(softmax(z_i^A / t)) - H_i^B)^2, and the share of the mismatch it explains,
1 - SSE(t*) / SSE(1) (science.md).

A readout that only sharpens A's distributions (B's logits = A's / 0.6) gives t* = 0.6 and a share explained of 1;
a change that moves different tokens differently leaves a share well below 1, whatever t. The search costs a few
passes over the head, each giving the entropies at many temperatures at once (the caller's ``entropies_at``, one
tiled pass): a log-spaced grid over [0.05, 20], then finer grids over the best point's neighbours, then the vertex
of the parabola through the finest grid's best three points, polished once with three points around it.
Brent's method would need one head pass per step: about three times the cost on SmolLM2 (benchmarks/bench_locus.py).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["LEVELS", "RANGE", "fit_temperature"]

RANGE = (0.05, 20.0)
#: Temperatures per grid: the whole range, then each grid over the previous grid's best point's two neighbours.
LEVELS = (17, 13, 9)


def fit_temperature(target: np.ndarray, entropies_at: Callable[[np.ndarray], np.ndarray], *,
                    baseline_entropy: np.ndarray, levels: Sequence[int] = LEVELS,
                    bounds: tuple[float, float] = RANGE) -> dict:
    """Fit t* over tokens.

    Parameters
    ----------
    target : (n,) B's entropies, nats.
    entropies_at : (K,) temperatures -> (n, K) A's entropies at each, exactly.
    baseline_entropy : (n,) A's entropies at the analysis temperature (SSE(1) of the definition).
    levels, bounds : the grids (see the module docstring).

    Returns
    -------
    {"t_star", "share_explained", "sse_t_star", "sse_baseline", "n_tokens", "at_grid_edge"}; NaN without tokens.
    ``at_grid_edge`` flags a best point at either end of ``bounds`` (the optimum may lie outside).
    """
    target = np.asarray(target, dtype=np.float64)
    base = float(((np.asarray(baseline_entropy, dtype=np.float64) - target) ** 2).sum())
    if target.size == 0:
        return {"t_star": math.nan, "share_explained": math.nan, "sse_t_star": math.nan, "sse_baseline": math.nan,
                "n_tokens": 0, "at_grid_edge": False}

    def sse(temps: np.ndarray) -> np.ndarray:
        return ((np.asarray(entropies_at(temps), dtype=np.float64) - target[:, None]) ** 2).sum(axis=0)

    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    edge = False
    for level, n in enumerate(levels):
        x = np.linspace(lo, hi, n)
        values = sse(np.exp(x))
        k = int(np.argmin(values))
        edge = edge or (level == 0 and k in (0, n - 1))
        lo, hi = x[max(k - 1, 0)], x[min(k + 1, n - 1)]
    best_t, best = float(np.exp(x[k])), float(values[k])
    vertex = _vertex(np.exp(x[k - 1:k + 2]), values[k - 1:k + 2]) if 0 < k < n - 1 else None
    if vertex is not None:  # polish: three points a quarter of the grid's step around the vertex, then theirs
        delta = (np.exp(x[k + 1]) - np.exp(x[k - 1])) / 8
        near = np.array([vertex - delta, vertex, vertex + delta])
        near_values = sse(near)
        polished = _vertex(near, near_values)
        candidates = list(zip(near, near_values)) + ([(polished, float(sse(np.array([polished]))[0]))]
                                                     if polished is not None else [])
        t, value = min(candidates, key=lambda c: c[1])
        if value <= best:
            best_t, best = float(t), float(value)
    return {"t_star": best_t, "share_explained": 1.0 - best / base if base > 0 else math.nan,
            "sse_t_star": best, "sse_baseline": base, "n_tokens": int(target.size), "at_grid_edge": edge}


def _vertex(t: np.ndarray, y: np.ndarray) -> float | None:
    """The argmin of the parabola in t through three points (t increasing), when it opens upwards; else None.

    In t rather than log t: near a pure temperature change the SSE is close to c (t - t*)^2, so the vertex is then
    nearly exact."""
    (t0, t1, t2), (y0, y1, y2) = t, y
    num = (t1 - t0) ** 2 * (y1 - y2) - (t1 - t2) ** 2 * (y1 - y0)
    den = (t1 - t0) * (y1 - y2) - (t1 - t2) * (y1 - y0)
    curvature = (y2 - y1) / (t2 - t1) - (y1 - y0) / (t1 - t0)
    if not curvature > 0 or den == 0:
        return None
    return float(np.clip(t1 - 0.5 * num / den, t0, t2))
