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

from reasongraph.errors import InputError, opt

__all__ = [
    "PROFILE_WINDOW",
    "WINDOW",
    "as_matrix",
    "check_window",
    "effective_rank",
    "effective_rank_by_layer",
    "effective_rank_from_singular_values",
    "erank_dynamics",
    "erank_profile",
    "erank_velocity",
    "erank_window",
    "level_coupling",
    "window_eranks",
]

# Windows processed per batched eigendecomposition in erank_profile; bounds memory for small strides.
_PROFILE_CHUNK = 256


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


def as_matrix(X: np.ndarray, name: str = "X") -> np.ndarray:
    """``X`` as a float64 2-D matrix of finite values (a ValueError naming ``name`` otherwise)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n_tokens, d) array, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} holds NaN or Inf values")
    return X


def effective_rank(X: np.ndarray, center: bool = True) -> float:
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


def effective_rank_by_layer(hidden: Mapping[int, np.ndarray], center: bool = True) -> dict[int, float]:
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


def _batched_eranks(W: np.ndarray) -> np.ndarray:
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


def erank_velocity(er_series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """VERL velocity and acceleration of a series of effective ranks ER_0, ER_1, ...

    v_j = ER_j - mean(ER_0 .. ER_{j-1}) for j >= 1 (the gain over the average so far), and
    a_j = v_j - v_{j-1} for j >= 2.

    Parameters
    ----------
    er_series : (n,) effective ranks on growing prefixes.

    Returns
    -------
    v : (max(n - 1, 0),) velocities.
    a : (max(n - 2, 0),) accelerations.
    """
    er = np.asarray(er_series, dtype=np.float64)
    if er.ndim != 1:
        raise ValueError(f"er_series must be 1-D, got shape {er.shape}")
    if er.size < 2:
        return np.empty(0), np.empty(0)
    running_mean = np.cumsum(er)[:-1] / np.arange(1, er.size)
    v = er[1:] - running_mean
    return v, np.diff(v)


def erank_dynamics(
    X: np.ndarray, window: int = 512, stride: int = 40, center: bool = True
) -> tuple[float, float]:
    """Effective-rank velocity and acceleration (ERV, ERA) of one response, as the VERL paper defines them.

    Keep the last ``window`` rows (L of them). With stride s, ER_j is the effective rank of the prefix
    ``X[:(j + 1) * s]`` (its first (j+1)s rows) for every j with (j + 1) * s < L; each prefix is centered on its
    own mean when ``center`` (as VERL's released code does). ERV is the mean of the velocities and ERA the mean of
    the accelerations from :func:`erank_velocity`.

    VERL's released code takes the first 512 tokens and also uses the prefix of length L and the whole response;
    this follows the definition in docs/metrics.md (last ``window`` rows, strict (j + 1) * s < L).

    Parameters
    ----------
    X : (n_tokens, d) hidden states of the response tokens.
    window : number of final rows kept.
    stride : prefix growth s in rows.
    center : center each prefix on its mean hidden state.

    Returns
    -------
    (erv, era) : floats. Both NaN when L < 2s (too short for the paper); ERV needs two prefixes (L > 2s) and ERA
        three (L > 3s), NaN otherwise.
    """
    X = as_matrix(X)
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    X = X[-window:]
    n_rows = X.shape[0]
    if n_rows < 2 * stride:
        return float("nan"), float("nan")
    eranks = []
    for k in range(stride, n_rows, stride):
        prefix = X[:k] - X[:k].mean(axis=0) if center else X[:k]
        eranks.append(_batched_eranks(prefix[None])[0])
    v, a = erank_velocity(np.array(eranks))
    erv = float(v.mean()) if v.size else float("nan")
    era = float(a.mean()) if a.size else float("nan")
    return erv, era


def _window_starts(n_rows: int, window: int, stride: int) -> np.ndarray:
    starts = np.arange(0, n_rows - window + 1, stride)
    if starts[-1] + window < n_rows:
        starts = np.append(starts, n_rows - window)
    return starts


def erank_profile(
    X: np.ndarray, window: int = 64, stride: int | None = None, center: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Effective rank in sliding windows along a trace, for a curve of hidden-state spread over tokens.

    Parameters
    ----------
    X : (n_tokens, d) hidden states.
    window : rows per window.
    stride : step between window starts; ``None`` means ``window`` (adjacent, non-overlapping windows).
    center : center each window on its own mean.

    Returns
    -------
    starts : (m,) int first row of each window. When the stride grid leaves rows uncovered at the end, one more
        window ending at the last row is added, so the curve spans the whole trace. A trace shorter than
        ``window`` gives a single window over all of it; an empty one gives empty arrays.
    values : (m,) float effective rank of each window (NaN for a window with no spread).
    """
    X = as_matrix(X)
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    stride = window if stride is None else stride
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    n_rows = X.shape[0]
    if n_rows == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    window = min(window, n_rows)
    starts = _window_starts(n_rows, window, stride)
    values = np.empty(starts.size)
    for lo in range(0, starts.size, _PROFILE_CHUNK):
        chunk = starts[lo:lo + _PROFILE_CHUNK]
        W = X[chunk[:, None] + np.arange(window)]
        if center:
            W = W - W.mean(axis=1, keepdims=True)
        values[lo:lo + chunk.size] = _batched_eranks(W)
    return starts, values


def window_eranks(X: np.ndarray, window: int) -> np.ndarray:
    """Effective ranks of the row-centered consecutive windows X[jW:(j+1)W] (the last partial window dropped).

    ``X`` is a checked float64 matrix; ``window`` >= 2. The windows of :func:`erank_window`,
    :func:`level_coupling` and :mod:`reasongraph.spectral`.

    A window whose centered rows are round-off of its own scale (identical rows: subtracting their computed mean
    leaves ~1e-16 residues, one direction) has no spread, so its rank is NaN rather than the 1.0 of that noise.
    """
    n_windows = X.shape[0] // window
    d = X.shape[1]
    values = np.empty(n_windows)
    for lo in range(0, n_windows, _PROFILE_CHUNK):
        hi = min(n_windows, lo + _PROFILE_CHUNK)
        W = X[lo * window:hi * window].reshape(hi - lo, window, d)
        C = W - W.mean(axis=1, keepdims=True)
        flat = np.linalg.norm(C, axis=(1, 2)) <= max(window, d) * np.finfo(np.float64).eps * np.linalg.norm(
            W, axis=(1, 2))
        values[lo:hi] = np.where(flat, np.nan, _batched_eranks(C))
    return values


def check_window(window: int) -> None:
    """An InputError unless ``window`` >= 2."""
    if window < 2:
        raise InputError(f"{opt('window')} must be >= 2 (one centered row has no spread), got {window!r}")


def erank_window(X: np.ndarray, window: int = 128) -> float:
    """Length-controlled effective rank: the mean over consecutive windows of ``window`` rows (docs/metrics.md).

    The trace's rows are cut into windows X[0:W], X[W:2W], ... (stride W, the last partial window dropped); each
    is centered on its own mean and its effective rank taken. The mean of those ranks no longer grows with the
    trace's length, as a whole-trace effective rank does, so groups with longer traces compare fairly.

    Parameters
    ----------
    X : (n_tokens, d) hidden states of the response tokens.
    window : W, rows per window.

    Returns
    -------
    float
        The mean over windows with a defined rank (a window of identical rows has none); NaN for fewer than W
        rows or when no window has a defined rank.
    """
    X = as_matrix(X)
    check_window(window)
    values = window_eranks(X, window)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else float("nan")


def level_coupling(entropy: np.ndarray, X: np.ndarray, window: int = 128) -> float:
    """Within-trace coupling of the two levels: Spearman correlation over windows of token entropy and rank.

    Over the windows of :func:`erank_window`, the correlation (``scipy.stats.spearmanr``) between a window's
    mean token entropy (NaN-aware) and its effective rank. VERL observed that at the hidden-state level
    exploration is nearly uncoupled from the token level; a value near 0 says the same of one trace.

    Parameters
    ----------
    entropy : (n_tokens,) token entropies, nats, aligned with the rows of ``X``.
    X : (n_tokens, d) hidden states.
    window : W, rows per window.

    Returns
    -------
    float
        Spearman's rho over the windows where both values are defined; NaN with fewer than 3 such windows or
        when either series is constant (the correlation is then undefined).
    """
    from scipy.stats import spearmanr

    X = as_matrix(X)
    entropy = np.asarray(entropy, dtype=np.float64)
    if entropy.shape != (X.shape[0],):
        raise InputError(f"entropy must have shape ({X.shape[0]},) to match the rows of X, got {entropy.shape}")
    check_window(window)
    ranks = window_eranks(X, window)
    blocks = entropy[:ranks.size * window].reshape(ranks.size, window)
    defined = np.isfinite(blocks)
    counts = defined.sum(axis=1)
    mean_h = np.where(counts > 0, np.where(defined, blocks, 0.0).sum(axis=1) / np.maximum(counts, 1), np.nan)
    ok = np.isfinite(mean_h) & np.isfinite(ranks)
    mean_h, ranks = mean_h[ok], ranks[ok]
    if mean_h.size < 3 or np.ptp(mean_h) == 0 or np.ptp(ranks) == 0:
        return float("nan")
    return float(spearmanr(mean_h, ranks).statistic)


#: W of :func:`erank_window` and :func:`level_coupling` in a trace's summary: the length-controlled hidden level.
WINDOW = 128
#: Rows per window of the effective-rank curve drawn along a trace.
PROFILE_WINDOW = 64
