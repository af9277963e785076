"""Where hidden-state revisits and token-entropy spikes meet, step by step, with a permutation test.

A revisit event is a step whose hidden state returns to an earlier cluster; an entropy spike is a forking token.
If token entropy saw every reconsideration, revisit steps would carry spikes far more often than chance. Revisits
without a spike ("hidden-only") are the exploration token metrics miss, spikes outside revisits ("token-only")
the converse. Everything here takes plain arrays, so it runs without a model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reasongraph.signals import forking_threshold, forking_tokens

__all__ = ["Alignment", "align", "step_has_spike"]


@dataclass(eq=False)
class Alignment:
    """Step-level alignment of revisit events, entropy spikes and (optionally) aha markers.

    Attributes
    ----------
    table : (2, 2) int, rows revisit yes/no, columns spike yes/no, counting steps.
    enrichment : P(spike | revisit) / P(spike | no revisit); NaN when a row is empty or no non-revisit step has
        a spike (the ratio is then undefined, and pooled tables are the better summary).
    p_value : one-sided permutation p-value of the number of revisit steps with a spike, from circular shifts
        of the entropy series; NaN when not computed (n_shifts = 0, fewer than 2 tokens, or no revisit).
    hidden_only : step indices of revisits without a spike.
    token_only : step indices of steps with a spike that are not revisits.
    step_spikes : (n_steps,) bool, whether each step has a spike.
    threshold : the entropy threshold spikes were cut at (NaN when a spike mask was given).
    marker_revisit_table : (2, 2) int, rows revisit yes/no, columns marker yes/no; None without markers.
    marker_spike_table : (2, 2) int, rows marker yes/no, columns spike yes/no; None without markers.
    """

    table: np.ndarray
    enrichment: float
    p_value: float
    hidden_only: np.ndarray
    token_only: np.ndarray
    step_spikes: np.ndarray
    threshold: float
    marker_revisit_table: np.ndarray | None = None
    marker_spike_table: np.ndarray | None = None

    def as_dict(self) -> dict[str, float | int | None]:
        """Flat JSON-able summary; the marker counts are None when no markers were given."""
        out: dict[str, float | int | None] = {}
        out.update(_flatten(self.table, "align", ("revisit", "norevisit"), ("spike", "nospike")))
        out["align_enrichment"] = float(self.enrichment)
        out["align_p_value"] = float(self.p_value)
        out["align_n_hidden_only"] = int(self.hidden_only.size)
        out["align_n_token_only"] = int(self.token_only.size)
        out["align_spike_threshold"] = float(self.threshold)
        out.update(_flatten(self.marker_revisit_table, "align", ("revisit", "norevisit"), ("marker", "nomarker")))
        out.update(_flatten(self.marker_spike_table, "align", ("marker", "nomarker"), ("spike", "nospike")))
        return out


def _flatten(table: np.ndarray | None, prefix: str, rows: tuple[str, str], cols: tuple[str, str]) -> dict:
    return {
        f"{prefix}_{r}_{c}": None if table is None else int(table[i, j])
        for i, r in enumerate(rows)
        for j, c in enumerate(cols)
    }


def _table(row_yes: np.ndarray, col_yes: np.ndarray) -> np.ndarray:
    return np.array(
        [
            [np.sum(row_yes & col_yes), np.sum(row_yes & ~col_yes)],
            [np.sum(~row_yes & col_yes), np.sum(~row_yes & ~col_yes)],
        ],
        dtype=np.int64,
    )


def _enrichment(table: np.ndarray) -> float:
    n_rev, n_norev = table.sum(axis=1)
    if n_rev == 0 or n_norev == 0 or table[1, 0] == 0:
        return float("nan")
    return float((table[0, 0] / n_rev) / (table[1, 0] / n_norev))


def _step_spans(step_spans: np.ndarray, n_tokens: int) -> np.ndarray:
    spans = np.asarray(step_spans)
    if spans.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    if spans.ndim != 2 or spans.shape[1] != 2 or not np.issubdtype(spans.dtype, np.integer):
        raise ValueError(f"step_spans must be an (n_steps, 2) integer array, got shape {spans.shape}")
    spans = spans.astype(np.int64)
    if np.any(spans[:, 0] < 0) or np.any(spans[:, 1] < spans[:, 0]) or np.any(spans[:, 1] > n_tokens):
        raise ValueError(f"step_spans must satisfy 0 <= start <= end <= n_tokens ({n_tokens})")
    return spans


def _step_mask(steps: np.ndarray, n_steps: int, name: str) -> np.ndarray:
    """A bool mask per step from step indices (or an already boolean mask)."""
    steps = np.asarray(steps)
    if steps.dtype == bool:
        if steps.shape != (n_steps,):
            raise ValueError(f"{name} as a mask must have shape ({n_steps},), got {steps.shape}")
        return steps.copy()
    if steps.size and not np.issubdtype(steps.dtype, np.integer):
        raise ValueError(f"{name} must hold integer step indices or be a bool mask, got dtype {steps.dtype}")
    steps = steps.astype(np.int64).ravel()
    if np.any(steps < 0) or np.any(steps >= n_steps):
        raise ValueError(f"{name} holds step indices outside [0, {n_steps})")
    mask = np.zeros(n_steps, dtype=bool)
    mask[steps] = True
    return mask


def step_has_spike(spikes: np.ndarray, step_spans: np.ndarray, window: int = 0) -> np.ndarray:
    """Whether each step holds a spike in tokens [start - window, end) (clipped at 0).

    Parameters
    ----------
    spikes : (n_tokens,) bool, e.g. from :func:`reasongraph.signals.forking_tokens`.
    step_spans : (n_steps, 2) token spans [start, end).
    window : tokens before each step that also count.

    Returns
    -------
    (n_steps,) bool.
    """
    spikes = np.asarray(spikes, dtype=bool)
    spans = _step_spans(step_spans, spikes.size)
    if window < 0:
        raise ValueError(f"window must be >= 0, got {window}")
    cum = np.concatenate([[0], np.cumsum(spikes)])
    return cum[spans[:, 1]] - cum[np.maximum(spans[:, 0] - window, 0)] > 0


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


def _permutation_p(
    spikes: np.ndarray, lo: np.ndarray, hi: np.ndarray, observed: int, n_shifts: int, seed: int, min_shift: int
) -> float:
    n = spikes.size
    if n_shifts == 0 or n < 2 or lo.size == 0:
        return float("nan")
    low = max(1, min(min_shift, n // 2))
    shifts = np.random.default_rng(seed).integers(low, n - low + 1, size=n_shifts)
    null = (_shifted_spike_counts(spikes, lo, hi, shifts) > 0).sum(axis=1)
    return float((1 + np.count_nonzero(null >= observed)) / (1 + n_shifts))


def align(
    entropy: np.ndarray,
    step_spans: np.ndarray,
    revisit_steps: np.ndarray,
    *,
    rho: float = 0.2,
    threshold: float | None = None,
    spikes: np.ndarray | None = None,
    window: int = 0,
    n_shifts: int = 1000,
    seed: int = 0,
    min_shift: int | None = None,
    marker_steps: np.ndarray | None = None,
) -> Alignment:
    """Align revisit events with entropy spikes (and aha markers) at the step level.

    A step has a spike when a forking token lies in its tokens [start, end) or in the ``window`` tokens before.
    The p-value tests whether revisit steps carry spikes more often than chance: the entropy series is shifted
    circularly by a random offset k (``np.random.default_rng(seed)``), spikes are recomputed with the same rule,
    and the statistic (revisit steps with a spike) is counted again; p = (1 + #{null >= observed}) /
    (1 + n_shifts). A circular shift keeps the burstiness of entropy (spikes cluster) and the step structure,
    and breaks only their relative position. Both spike rules (top ``rho`` share, absolute threshold) give the
    same mask for the shifted series as the shifted mask, so the mask is shifted directly.

    Offsets are drawn from [min_shift, n - min_shift], not from all of 1..n-1 as science.md states: a shift
    shorter than a step leaves most spikes in the step they came from, so those shifts reproduce the observed
    alignment and put a floor of about 2 * step length / n under p (0.04 for a 2,000-token trace with 40-token
    steps, however perfect the alignment). ``min_shift=1`` gives science.md's literal null.

    Parameters
    ----------
    entropy : (n_tokens,) nats; NaN never spikes.
    step_spans : (n_steps, 2) token spans [start, end) of the steps (``Trace.step_spans()``).
    revisit_steps : indices of the revisit steps, or an (n_steps,) bool mask.
    rho, threshold : the spike rule, as in :func:`reasongraph.signals.forking_tokens`.
    spikes : an (n_tokens,) bool spike mask to use instead of the rule.
    window : tokens before a step that also count for it (default 0: the step's own tokens).
    n_shifts : number of circular shifts; 0 skips the test.
    seed : seed of the shifts; the same seed gives the same p-value.
    min_shift : smallest circular shift, capped at n // 2; ``None`` means the longest step span plus
        ``window``, so that every shift moves each spike out of the counting span of its own step.
    marker_steps : optional (n_steps,) bool, steps with an aha marker (see
        :func:`reasongraph.markers.markers_per_step`); adds the marker tables.

    Returns
    -------
    Alignment
    """
    entropy = np.asarray(entropy, dtype=np.float64)
    if entropy.ndim != 1:
        raise ValueError(f"entropy must be a 1-D (n_tokens,) array, got shape {entropy.shape}")
    n_tokens = entropy.size
    spans = _step_spans(step_spans, n_tokens)
    n_steps = spans.shape[0]
    revisit = _step_mask(revisit_steps, n_steps, "revisit_steps")
    if window < 0:
        raise ValueError(f"window must be >= 0, got {window}")
    if n_shifts < 0:
        raise ValueError(f"n_shifts must be >= 0, got {n_shifts}")

    if spikes is not None:
        spikes = np.asarray(spikes)
        if spikes.dtype != bool or spikes.shape != (n_tokens,):
            raise ValueError(f"spikes must be a bool array of shape ({n_tokens},)")
        cut = float("nan")
    else:
        spikes = forking_tokens(entropy, rho=rho, threshold=threshold)
        cut = float(threshold) if threshold is not None else forking_threshold(entropy, rho)

    has_spike = step_has_spike(spikes, spans, window)
    table = _table(revisit, has_spike)
    if min_shift is None:
        min_shift = int(np.max(spans[:, 1] - spans[:, 0], initial=0)) + window
    elif min_shift < 1:
        raise ValueError(f"min_shift must be >= 1, got {min_shift}")
    lo = np.maximum(spans[revisit, 0] - window, 0)
    p_value = _permutation_p(spikes, lo, spans[revisit, 1], int(table[0, 0]), n_shifts, seed, min_shift)

    marker_revisit = marker_spike = None
    if marker_steps is not None:
        markers = np.asarray(marker_steps)
        if markers.dtype != bool or markers.shape != (n_steps,):
            raise ValueError(f"marker_steps must be a bool array of shape ({n_steps},)")
        marker_revisit = _table(revisit, markers)
        marker_spike = _table(markers, has_spike)

    return Alignment(
        table=table,
        enrichment=_enrichment(table),
        p_value=p_value,
        hidden_only=np.flatnonzero(revisit & ~has_spike),
        token_only=np.flatnonzero(~revisit & has_spike),
        step_spikes=has_spike,
        threshold=cut,
        marker_revisit_table=marker_revisit,
        marker_spike_table=marker_spike,
    )
