"""How unevenly one walk spreads its steps over nodes: the Gini coefficient and the rank-frequency decay.

RL is reported to squeeze a policy's reasoning onto fewer states ("RL squeezes, SFT expands", from the Topology of
Reasoning group: the rank-frequency decay of node visits about 2.5x steeper after RL). Both measures read the visit
counts x of the visited nodes of one walk (steps labeled with each node; dropped steps are no visit), and need at
least :data:`MIN_NODES` visited nodes: with fewer, a share or a slope says nothing (NaN).

- Gini G = sum_ij |x_i - x_j| / (2 n^2 mean(x)): 0 when every visited node has as many visits, towards 1 when one
  node takes them all. Check: [4,2,1,1] gives 0.3125, [2,2,2,2] gives 0.
- Decay beta: sort x in decreasing order, x_(1) >= x_(2) >= ...; beta is minus the least-squares slope of
  ln x_(r) against ln r. Higher: visits concentrate on the first few nodes. Check: [8,4,2,1] gives 1.459022.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["MIN_NODES", "visit_concentration", "visit_counts", "visit_decay", "visit_gini"]

#: The fewest visited nodes the measures need.
MIN_NODES = 3


def visit_counts(walk: Sequence[int]) -> np.ndarray:
    """Visits per visited node of a walk (steps labeled with it), in order of node id; negative labels skipped."""
    w = np.asarray(walk, dtype=np.int64).ravel()
    return np.unique(w[w >= 0], return_counts=True)[1]


def _counts(counts: Sequence[float]) -> np.ndarray | None:
    x = np.asarray(counts, dtype=np.float64).ravel()
    if np.any(~np.isfinite(x)) or np.any(x < 0):
        raise ValueError("visit counts must be finite and non-negative")
    x = x[x > 0]
    return x if x.size >= MIN_NODES else None


def visit_gini(counts: Sequence[float]) -> float:
    """Gini coefficient of the visit counts of the visited nodes (zero counts are no visited node); NaN for
    fewer than :data:`MIN_NODES`."""
    x = _counts(counts)
    if x is None:
        return math.nan
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size ** 2 * x.mean()))


def visit_decay(counts: Sequence[float]) -> float:
    """Minus the least-squares slope of ln(count) against ln(rank), counts in decreasing order (rank 1 the most
    visited); NaN for fewer than :data:`MIN_NODES` visited nodes."""
    x = _counts(counts)
    if x is None:
        return math.nan
    log_rank = np.log(np.arange(1, x.size + 1, dtype=np.float64))
    log_count = np.log(np.sort(x)[::-1])
    slope = np.polyfit(log_rank, log_count, 1)[0]
    return float(-slope)


def visit_concentration(walk: Sequence[int]) -> dict[str, float]:
    """``visit_gini`` and ``visit_decay`` of one walk of cluster ids (NaN with fewer than 3 visited nodes)."""
    counts = visit_counts(walk)
    return {"visit_gini": visit_gini(counts), "visit_decay": visit_decay(counts)}
