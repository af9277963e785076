"""The curves under a trace view: token entropy smoothed along the trace, and the windowed effective rank."""
from __future__ import annotations

from typing import Any

import numpy as np

from reasongraph.core.json_values import finite_or_none

__all__ = ["MAX_CURVE_POINTS", "erank_curve", "smooth_entropy"]

MAX_CURVE_POINTS = 800


def smooth_entropy(entropy: Any, *, width: int | None = None, max_points: int = MAX_CURVE_POINTS) -> dict:
    """Centered, NaN-aware moving average of token entropy, thinned to at most ``max_points`` points.

    ``width`` (tokens averaged) defaults to n_tokens / 100 clamped to [4, 64] tokens: wide enough to read a long
    trace's trend, narrow enough to keep a burst of forking tokens visible.

    Returns
    -------
    dict with ``x`` (token index of each point), ``y`` (mean entropy, None where the window holds no finite
    value) and ``window`` (the width used).
    """
    h = np.asarray(entropy, dtype=np.float64).reshape(-1)
    n = h.size
    if n == 0:
        return {"x": [], "y": [], "window": 0}
    window = int(min(64, max(4, n // 100))) if width is None else width
    window = max(1, min(int(window), n))
    ok = np.isfinite(h)
    csum = np.r_[0.0, np.cumsum(np.where(ok, h, 0.0))]
    ccnt = np.r_[0, np.cumsum(ok)]
    half = window // 2
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) - half + window, 0, n)
    cnt = ccnt[hi] - ccnt[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (csum[hi] - csum[lo]) / cnt
    idx = np.unique(np.linspace(0, n - 1, min(n, max_points)).round().astype(np.int64))
    return {"x": idx.tolist(), "y": [None if c == 0 else round(float(m), 4) for m, c in zip(mean[idx], cnt[idx])],
            "window": window}


def erank_curve(curve: tuple[Any, Any] | None, n_tokens: int) -> dict:
    """Effective-rank windows as points at their centres."""
    if curve is None:
        return {"x": [], "y": [], "window": 0}
    starts, values = (np.asarray(a, dtype=np.float64).reshape(-1) for a in curve)
    if starts.shape != values.shape:
        raise ValueError(f"erank_curve: starts and values differ in length ({starts.size} vs {values.size})")
    if starts.size == 0:
        return {"x": [], "y": [], "window": 0}
    # the windows are as wide as the usual spacing of their starts (erank_profile's default stride); the last
    # window may start closer, to end at the last token
    width = float(np.median(np.diff(starts))) if starts.size > 1 else float(n_tokens)
    x = np.minimum(starts + width / 2, max(n_tokens - 1, 0))
    return {"x": [round(float(v), 1) for v in x], "y": [finite_or_none(v) for v in values],
            "window": int(width)}
