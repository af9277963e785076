"""The effective rank along a trace: its velocity and acceleration (ERV, ERA), windowed ranks, the profile for plots
and the level coupling."""
from __future__ import annotations

import numpy as np

from reasongraph.core.errors import InputError, opt
from reasongraph.trace.hidden.effective_rank import PROFILE_CHUNK, as_matrix, batched_eranks

__all__ = ["CURVE_WINDOW", "ERV_STRIDE", "ERV_WINDOW", "PROFILE_WINDOW", "WINDOW", "check_window", "erank_dynamics",
           "erank_profile", "erank_velocity", "erank_window", "level_coupling", "window_eranks"]

#: W of :func:`erank_window` and :func:`level_coupling` in a trace's summary: the length-controlled hidden level.
WINDOW = 128
#: Rows per window of the effective-rank curve drawn along a trace: the metric's own W, so the curve's points are
#: the windows whose mean is ``erank_window`` (plus, for a trace not a multiple of W, one ending at its last row).
PROFILE_WINDOW = WINDOW
#: Rows per window of :func:`erank_profile` when none is given.
CURVE_WINDOW = 64
#: ERV/ERA (:func:`erank_dynamics`): the final rows kept (VERL's 512 tokens) and the prefix growth s.
ERV_WINDOW = 512
ERV_STRIDE = 40


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
    X: np.ndarray, *, window: int = ERV_WINDOW, stride: int = ERV_STRIDE, center: bool = True
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
        eranks.append(batched_eranks(prefix[None])[0])
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
    X: np.ndarray, *, window: int = CURVE_WINDOW, stride: int | None = None, center: bool = True
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
    for lo in range(0, starts.size, PROFILE_CHUNK):
        chunk = starts[lo:lo + PROFILE_CHUNK]
        W = X[chunk[:, None] + np.arange(window)]
        if center:
            W = W - W.mean(axis=1, keepdims=True)
        values[lo:lo + chunk.size] = batched_eranks(W)
    return starts, values


def window_eranks(X: np.ndarray, window: int) -> np.ndarray:
    """Effective ranks of the row-centered consecutive windows X[jW:(j+1)W] (the last partial window dropped).

    ``X`` is a checked float64 matrix; ``window`` >= 2. The windows of :func:`erank_window`,
    :func:`level_coupling` and :mod:`reasongraph.trace.hidden.spectral`.

    A window whose centered rows are round-off of its own scale (identical rows: subtracting their computed mean
    leaves ~1e-16 residues, one direction) has no spread, so its rank is NaN rather than the 1.0 of that noise.
    """
    n_windows = X.shape[0] // window
    d = X.shape[1]
    values = np.empty(n_windows)
    for lo in range(0, n_windows, PROFILE_CHUNK):
        hi = min(n_windows, lo + PROFILE_CHUNK)
        W = X[lo * window:hi * window].reshape(hi - lo, window, d)
        C = W - W.mean(axis=1, keepdims=True)
        flat = np.linalg.norm(C, axis=(1, 2)) <= max(window, d) * np.finfo(np.float64).eps * np.linalg.norm(
            W, axis=(1, 2))
        values[lo:hi] = np.where(flat, np.nan, batched_eranks(C))
    return values


def check_window(window: int) -> None:
    """An InputError unless ``window`` >= 2."""
    if window < 2:
        raise InputError(f"{opt('window')} must be >= 2 (one centered row has no spread), got {window!r}")


def erank_window(X: np.ndarray, *, window: int = WINDOW) -> float:
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


def level_coupling(entropy: np.ndarray, X: np.ndarray, *, window: int = WINDOW) -> float:
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

