"""Spectral entropy of hidden states, and the windowed effective rank over its bound.

The effective rank (:mod:`reasongraph.trace.hidden`) is exp of an entropy: that of the normalized singular values. This
module reports the entropy itself, in nats, so that it reads in the unit of token entropy, and the effective rank
as a share of the most it can be, so that a measure sitting at its ceiling is seen to sit there.

- **Spectral entropy** H_s(X) = -sum_i p_i ln p_i, p_i = s_i / sum_j s_j over the singular values s of X with its
  mean row removed (float64); erank = exp(H_s). Centering costs one dimension, so H_s <= ln(min(n_rows - 1, d))
  (:func:`spectral_bound`). It is **scale-invariant**: multiplying X by any c > 0 leaves p, hence H_s, unchanged,
  so it says how evenly the variance spreads over directions, not how much variance there is. N near-duplicate
  rows (samples that differ in one number) spread their tiny differences as evenly as N free samples spread
  large ones and score as high; only exactly equal rows (no spread at all) lower it, to NaN here. Read it as a
  shape, never as an amount of diversity: the cross-sample spread (:mod:`reasongraph.analysis.samples.spread`) is the
  amount.
- **erank over its bound**: erank_window / min(W - 1, d). A window of W rows, centered, has rank at most
  min(W - 1, d): a window at its ceiling reads about 1 (a random centered 16 x 576 window: 14.95 of 15).

Both per trace use the windows of ``erank_window`` (consecutive W-row windows, the last partial one dropped, a
window of identical rows left out), so a trace shorter than W has neither: NaN, never a silent ceiling.
"""
from __future__ import annotations

import math

import numpy as np

from reasongraph.trace.hidden.effective_rank import as_matrix, effective_rank_from_singular_values
from reasongraph.trace.hidden.rank_dynamics import WINDOW, check_window, window_eranks

__all__ = ["erank_window_norm", "spectral_bound", "spectral_entropy", "spectral_entropy_from_singular_values",
           "spectral_entropy_window", "window_measures"]


def spectral_entropy_from_singular_values(s: np.ndarray) -> float:
    """-sum p_k ln p_k of p_k = s_k / sum(s), in nats: the log of
    :func:`~reasongraph.trace.hidden.effective_rank.effective_rank_from_singular_values`.

    NaN when every value is zero (a matrix with no spread has no direction to be spread over).
    """
    return math.log(effective_rank_from_singular_values(s))


def spectral_entropy(X: np.ndarray, *, center: bool = True) -> float:
    """Spectral entropy H_s of a (n_rows, d) matrix, in nats, from its float64 singular values.

    ``center`` removes the mean row first (the default, as the effective rank of hidden states does). Scale-
    invariant (see the module notes). NaN for an empty matrix, or one with no spread (after centering: fewer than
    two distinct rows). Check: [[1,0,0],[0,2,0],[0,0,3],[1,1,1]] gives 0.955816 (erank 2.600793).
    """
    X = as_matrix(X)
    if X.size == 0:
        return math.nan
    if center:
        X = X - X.mean(axis=0)
    return spectral_entropy_from_singular_values(np.linalg.svd(X, compute_uv=False))


def spectral_bound(n_rows: int, d: int, *, center: bool = True) -> float:
    """The largest spectral entropy of an (n_rows, d) matrix: ln(min(n_rows - 1, d)) centered, ln(min(n_rows, d))
    not; NaN when that rank is below 1."""
    rank = min(n_rows - 1 if center else n_rows, d)
    return math.log(rank) if rank >= 1 else math.nan


def window_measures(X: np.ndarray, window: int) -> dict[str, float]:
    """The per-trace window measures of one (n_tokens, d) matrix, from one set of window effective ranks.

    ``erank_window``: their mean (:func:`reasongraph.trace.hidden.rank_dynamics.erank_window`);
    ``spectral_entropy_window``: the mean of their logarithms, the windows' spectral entropies in nats (so exp of it
    is at most ``erank_window``, by Jensen); ``erank_window_norm``: ``erank_window`` / min(W - 1, d). All NaN for
    fewer than W rows or when no window has a rank.
    """
    X = as_matrix(X)
    check_window(window)
    values = window_eranks(X, window)
    values = values[np.isfinite(values)]
    if not values.size:
        return {"erank_window": math.nan, "spectral_entropy_window": math.nan, "erank_window_norm": math.nan}
    mean = float(values.mean())
    return {"erank_window": mean, "spectral_entropy_window": float(np.log(values).mean()),
            "erank_window_norm": mean / min(window - 1, X.shape[1])}


def spectral_entropy_window(X: np.ndarray, *, window: int = WINDOW) -> float:
    """Mean spectral entropy (nats) over the consecutive ``window``-row windows of ``X`` (see
    :func:`window_measures`); NaN for fewer than ``window`` rows."""
    return window_measures(X, window)["spectral_entropy_window"]


def erank_window_norm(X: np.ndarray, *, window: int = WINDOW) -> float:
    """``erank_window`` over its bound min(W - 1, d): about 1 for windows at their ceiling (see
    :func:`window_measures`); NaN for fewer than ``window`` rows."""
    return window_measures(X, window)["erank_window_norm"]
