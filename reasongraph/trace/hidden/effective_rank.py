"""Effective rank of hidden states and its dynamics along a trace (Roy & Vetterli 2007; VERL).

Token entropy can collapse while the hidden states still spread over many directions; the effective rank measures
that spread. ``erank_dynamics`` gives the VERL paper's velocity (ERV) and acceleration (ERA) of the effective rank
over growing prefixes of one response, ``erank_profile`` a curve of it along a trace for plots. A whole-trace
effective rank grows with the number of rows, so comparisons between groups whose traces differ in length use
``erank_window`` (the mean over fixed 128-row windows), and ``level_coupling`` relates a window's spread to its
mean token entropy. All computation is float64 whatever the input dtype.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["PROFILE_CHUNK", "as_matrix", "batched_eranks", "effective_rank", "effective_rank_by_layer",
           "effective_rank_from_singular_values"]


# Windows processed per batched eigendecomposition in erank_profile; bounds memory for small strides.
PROFILE_CHUNK = 256


def effective_rank_from_singular_values(s: np.ndarray) -> float:
    """Effective rank exp(H(p)) of p_k = s_k / sum(s) (Roy & Vetterli 2007).

    Parameters
    ----------
    s : (k,) array of non-negative singular values.

    Returns
    -------
    float
        Between 1 and the number of non-zero values; NaN when all values are zero (or none are given): a zero
        matrix spreads over no direction, so its effective rank is undefined rather than 0 or 1.
    """
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"s must be a 1-D array of singular values, got shape {s.shape}")
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("s must hold finite, non-negative singular values")
    total = s.sum()
    if total == 0.0:
        return float("nan")
    p = s[s > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))


def as_matrix(X: np.ndarray, *, name: str = "X") -> np.ndarray:
    """``X`` as a float64 2-D matrix of finite values (a ValueError naming ``name`` otherwise)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n_tokens, d) array, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} holds NaN or Inf values")
    return X


def effective_rank(X: np.ndarray, *, center: bool = True) -> float:
    """Effective rank of a (n_tokens, d) matrix of hidden states, from its float64 singular values.

    Parameters
    ----------
    X : (n_tokens, d) array, one row per token.
    center : subtract the mean hidden state over tokens (the mean row) first, as the VERL paper does; the rank
        then measures the spread around the mean rather than the mean's own direction.

    Returns
    -------
    float
        exp of the entropy of the normalized singular values; NaN for an empty or all-zero matrix (after
        centering: a single token, or identical tokens).
    """
    X = as_matrix(X)
    if X.size == 0:
        return float("nan")
    if center:
        X = X - X.mean(axis=0)
    return effective_rank_from_singular_values(np.linalg.svd(X, compute_uv=False))


def effective_rank_by_layer(hidden: Mapping[int, np.ndarray], *, center: bool = True) -> dict[int, float]:
    """Effective rank of each captured layer's hidden states, e.g. ``effective_rank_by_layer(trace.hidden)``.

    Parameters
    ----------
    hidden : {layer index: (n_tokens, d) array}.
    center : as in :func:`effective_rank`.

    Returns
    -------
    dict
        {layer index: effective rank}, layers in increasing order.
    """
    return {int(layer): effective_rank(hidden[layer], center=center) for layer in sorted(hidden)}


def batched_eranks(W: np.ndarray) -> np.ndarray:
    """Effective ranks of a stack (m, n, d) of (already centered) matrices, via their Gram matrices.

    The singular values are the square roots of the eigenvalues of the smaller Gram matrix (n x n or d x d),
    several times faster than an SVD. Eigenvalues within round-off of zero (below lambda_max * max(n, d) * eps,
    the tolerance ``numpy.linalg.matrix_rank`` uses) are set to zero: their square roots would otherwise turn
    exact zero singular values into spurious ~1e-8 ones.
    """
    m, n, d = W.shape
    G = W @ W.transpose(0, 2, 1) if n <= d else W.transpose(0, 2, 1) @ W
    lam = np.linalg.eigvalsh(G)
    tol = lam.max(axis=1, keepdims=True) * max(n, d) * np.finfo(np.float64).eps
    s = np.sqrt(np.where(lam > tol, lam, 0.0))
    return np.array([effective_rank_from_singular_values(row) for row in s])
