"""When a step has an entropy spike (its onset entropy, the span rule) and the circular-shift permutation test of the
span rule."""
from __future__ import annotations

from typing import Any

import numpy as np

from reasongraph.analysis.options import MAX_SHIFTS, RULES, AlignOptions
from reasongraph.core.checks import check_int
from reasongraph.core.errors import InputError, opt

__all__ = ["MAX_SHIFTS", "RULES", "any_in_windows", "check_onset_window", "entropy_array", "numeric_array",
           "onset_entropy", "onset_windows", "shift_permutation_p", "step_has_spike", "step_mask", "step_spans_array"]

_SHIFT_BLOCK = 4096


# ---------------------------------------------------------------------- input checks
def numeric_array(value: Any, name: str, *, dtype: Any = None) -> np.ndarray:
    """``np.asarray(value, dtype)``, with what numpy cannot convert (ragged lists, strings) an InputError."""
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as e:
        raise InputError(f"{opt(name)} must be a numeric array ({e})") from None


def entropy_array(entropy: Any) -> np.ndarray:
    """``entropy`` as a 1-D float64 array (InputError otherwise)."""
    entropy = numeric_array(entropy, "entropy", dtype=np.float64)
    if entropy.ndim != 1:
        raise InputError(f"entropy must be a 1-D (n_tokens,) array, got shape {entropy.shape}")
    return entropy


def step_spans_array(step_spans: Any, n_tokens: int) -> np.ndarray:
    """``step_spans`` as an (n_steps, 2) int64 array of spans within [0, n_tokens] (InputError otherwise)."""
    spans = numeric_array(step_spans, "step_spans")
    if spans.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    if spans.ndim != 2 or spans.shape[1] != 2 or not np.issubdtype(spans.dtype, np.integer):
        raise InputError(f"{opt('step_spans')} must be an (n_steps, 2) integer array, got shape {spans.shape} "
                         f"and dtype {spans.dtype}")
    spans = spans.astype(np.int64)
    if np.any(spans[:, 0] < 0) or np.any(spans[:, 1] < spans[:, 0]) or np.any(spans[:, 1] > n_tokens):
        raise InputError(f"{opt('step_spans')} must satisfy 0 <= start <= end <= n_tokens ({n_tokens})")
    return spans


def step_mask(steps: Any, n_steps: int, name: str) -> np.ndarray:
    """A bool mask per step from step indices (or an already boolean mask)."""
    steps = numeric_array(steps, name)
    if steps.dtype == bool:
        if steps.shape != (n_steps,):
            raise InputError(f"{opt(name)} as a mask must have shape ({n_steps},), got {steps.shape}")
        return steps.copy()
    if steps.size and not np.issubdtype(steps.dtype, np.integer):
        raise InputError(f"{opt(name)} must hold integer step indices or be a bool mask, got dtype {steps.dtype}")
    steps = steps.astype(np.int64).ravel()
    if np.any(steps < 0) or np.any(steps >= n_steps):
        raise InputError(f"{opt(name)} holds step indices outside [0, {n_steps})")
    mask = np.zeros(n_steps, dtype=bool)
    mask[steps] = True
    return mask


def check_onset_window(onset_tokens: int, lookback: int) -> None:
    """InputError unless onset_tokens >= 1 and lookback >= 0."""
    check_int("onset_tokens", onset_tokens, low=1)
    check_int("lookback", lookback, low=0)


# ---------------------------------------------------------------------- the onset rule
def onset_windows(spans: np.ndarray, n_tokens: int, onset_tokens: int,
                   lookback: int) -> tuple[np.ndarray, np.ndarray]:
    """Token windows [lo, hi) = [s - w, min(s + m, e)) of each step, clipped to [0, n_tokens)."""
    onset_tokens, lookback = min(onset_tokens, n_tokens), min(lookback, n_tokens)  # no window is wider
    lo = np.clip(spans[:, 0] - lookback, 0, n_tokens)
    hi = np.clip(np.minimum(spans[:, 0] + onset_tokens, spans[:, 1]), 0, n_tokens)
    return lo, np.maximum(hi, lo)


def onset_entropy(entropy: Any, step_spans: Any, *, onset_tokens: int = AlignOptions.onset_tokens,
                   lookback: int = AlignOptions.lookback) -> np.ndarray:
    """Onset entropy of each step: the largest token entropy where the step's direction is chosen.

    For a step with token span [s, e) it is max H_i over i in [s - lookback, min(s + onset_tokens, e)), clipped
    to [0, n_tokens) (m = ``onset_tokens``, w = ``lookback`` in docs/metrics.md). With the defaults it is H_s, the
    entropy of the distribution that picked the step's first token.

    Parameters
    ----------
    entropy : (n_tokens,) nats; NaN marks an undefined token and is skipped.
    step_spans : (n_steps, 2) token spans [start, end) (``Trace.step_spans()``).
    onset_tokens : m >= 1, the step's own first tokens that count.
    lookback : w >= 0, tokens before the step that count.

    Returns
    -------
    (n_steps,) float64; NaN where the window is empty (an empty step with ``lookback=0``) or all NaN.
    """
    entropy = entropy_array(entropy)
    check_onset_window(onset_tokens, lookback)
    spans = step_spans_array(step_spans, entropy.size)
    lo, hi = onset_windows(spans, entropy.size, onset_tokens, lookback)
    if entropy.size == 0:
        return np.full(spans.shape[0], np.nan)
    idx = lo[:, None] + np.arange(min(onset_tokens + lookback, entropy.size))  # a window never exceeds the trace
    values = np.where(idx < hi[:, None], entropy[np.minimum(idx, entropy.size - 1)], np.nan)
    return np.fmax.reduce(values, axis=1)  # fmax skips NaN and gives NaN only when all are NaN


def any_in_windows(spikes: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Whether each token window [lo, hi) holds a spike."""
    cum = np.concatenate([[0], np.cumsum(spikes)])
    return cum[hi] - cum[lo] > 0


# ---------------------------------------------------------------------- the span rule and its null
def step_has_spike(spikes: Any, step_spans: Any, *, lookback: int = AlignOptions.lookback) -> np.ndarray:
    """Whether each step holds a spike in tokens [start - lookback, end) (clipped at 0): the "span" rule.

    Parameters
    ----------
    spikes : (n_tokens,) bool, e.g. from :func:`reasongraph.trace.token_signals.forking_tokens`.
    step_spans : (n_steps, 2) token spans [start, end).
    lookback : tokens before each step that also count.

    Returns
    -------
    (n_steps,) bool.
    """
    spikes = numeric_array(spikes, "spikes", dtype=bool)
    if spikes.ndim != 1:
        raise InputError(f"{opt('spikes')} must be a 1-D (n_tokens,) array, got shape {spikes.shape}")
    spans = step_spans_array(step_spans, spikes.size)
    check_int("lookback", lookback, low=0)
    return any_in_windows(spikes, np.maximum(spans[:, 0] - min(lookback, spikes.size), 0), spans[:, 1])


def _shifted_spike_counts(
    spikes: np.ndarray, lo: np.ndarray, hi: np.ndarray, shifts: np.ndarray
) -> np.ndarray:
    """(n_shifts, n_spans) spike counts in [lo, hi) of ``np.roll(spikes, k)`` for every shift k, at once.

    ``np.roll(spikes, k)[t] == spikes[(t - k) % n]``, so the count over [lo, hi) is the count of the original
    mask over the circular interval [lo - k, hi - k); a cumulative sum over the mask repeated twice reads it off
    without building any shifted mask.
    """
    n = spikes.size
    cum = np.concatenate([[0], np.cumsum(np.tile(spikes, 2))])
    k = shifts[:, None]
    return cum[hi[None, :] - k + n] - cum[lo[None, :] - k + n]


def shift_permutation_p(
    spikes: np.ndarray, lo: np.ndarray, hi: np.ndarray, observed: int, n_shifts: int, seed: int, min_shift: int
) -> float:
    """One-sided circular-shift permutation p of ``observed`` windows [lo, hi) holding a spike (NaN without a
    shift, a window or two tokens)."""
    n = spikes.size
    if n_shifts == 0 or n < 2 or lo.size == 0:
        return float("nan")
    low = max(1, min(min_shift, n // 2))
    shifts = np.random.default_rng(seed).integers(low, n - low + 1, size=n_shifts)
    at_least = 0
    for start in range(0, n_shifts, _SHIFT_BLOCK):  # blocks bound the (shifts x revisits) count matrix
        null = (_shifted_spike_counts(spikes, lo, hi, shifts[start:start + _SHIFT_BLOCK]) > 0).sum(axis=1)
        at_least += int(np.count_nonzero(null >= observed))
    return float((1 + at_least) / (1 + n_shifts))
