"""Where hidden-state revisits and token-entropy spikes meet, step by step.

A revisit event is a step whose hidden state returns to an earlier cluster. A step's direction is decided at
its onset (the distribution that chose "Wait" rather than "So"); the rest of a long step is mostly forced. So a
step has an entropy spike when its **onset entropy** (the largest token entropy over its first m tokens and the
w tokens before it) reaches the forking threshold. If token entropy saw every reconsideration, revisit steps
would begin at a fork far more often than other steps: the per-trace 2x2 table revisit x onset spike, its odds
ratio and Fisher's exact test measure that. Revisits without an onset spike ("hidden-only") are the exploration
token metrics miss; onset spikes outside revisits ("token-only") the converse. Pool the traces' tables with
:func:`reasongraph.stats.mantel_haenszel` (see :mod:`reasongraph.pooled`).

The older rule "span" (a forking token anywhere in the step) stays as an option with its circular-shift
permutation test; it is not the default because it cannot fail (see :func:`align`). Everything here takes plain
arrays, so it runs without a model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from reasongraph.errors import InputError, opt
from reasongraph.onset_relative import RelativeAlignment, near_saturated, relative_alignment
from reasongraph.signals import forking_tokens, top_rho_threshold
from reasongraph.stats import TwoByTwo
from reasongraph.validate import check_int, check_seed

__all__ = ["MAX_SHIFTS", "RULES", "Alignment", "align", "onset_entropy", "step_has_spike"]

#: The step-level spike rules of :func:`align`, the default first.
RULES = ("onset", "span")
#: The most circular shifts of the span rule's permutation test: a p-value resolution of 1e-6 is plenty, and each
#: shift costs memory in proportion to the revisits.
MAX_SHIFTS = 1_000_000
_SHIFT_BLOCK = 4096


@dataclass(eq=False)
class Alignment:
    """Step-level alignment of revisit events, entropy spikes and (optionally) aha markers, for one trace.

    Attributes
    ----------
    rule : the spike rule, "onset" or "span" (see :func:`align`).
    revisit_spike : the table revisit yes/no (rows) x spike yes/no (columns), counting steps, with its odds
        ratio and Fisher p-values; also readable as ``table``, ``odds_ratio``, ``odds_ratio_corrected``,
        ``fisher_p``, ``fisher_p_greater``.
    enrichment : P(spike | revisit) / P(spike | no revisit); NaN when a row is empty or no non-revisit step has
        a spike.
    p_value : rule "span" only: one-sided circular-shift permutation p-value of the number of revisit steps
        with a spike; NaN for rule "onset", and when not computed (n_shifts = 0, fewer than 2 tokens, no revisit).
    hidden_only : step indices of revisits without a spike.
    token_only : step indices of steps with a spike that are not revisits.
    hidden_only_share : hidden-only / revisits; NaN without a revisit.
    step_spikes : (n_steps,) bool, whether each step has a spike under ``rule``.
    onset_entropy : (n_steps,) onset entropy of each step (computed for both rules; NaN for an empty window).
    onset_fork_rate : share of steps with an onset spike (whatever ``rule``); NaN without a step.
    onset_fork_null : the share expected if onset tokens were ordinary tokens, 1 - (1 - rho)^(m + w); NaN when
        the spikes did not come from a top-rho threshold (an absolute threshold or a given spike mask).
    threshold : the entropy threshold spikes were cut at (NaN when a spike mask was given).
    marker_revisit : rows revisit yes/no, columns marker yes/no; None without markers.
    marker_spike : rows marker yes/no, columns spike yes/no; None without markers.
    relative : revisits against the onset-relative rule (:mod:`reasongraph.onset_relative`), reported beside
        ``rule``; None when not computed.
    """

    rule: str
    revisit_spike: TwoByTwo
    enrichment: float
    p_value: float
    hidden_only: np.ndarray
    token_only: np.ndarray
    hidden_only_share: float
    step_spikes: np.ndarray
    onset_entropy: np.ndarray
    onset_fork_rate: float
    onset_fork_null: float
    threshold: float
    marker_revisit: TwoByTwo | None = None
    marker_spike: TwoByTwo | None = None
    relative: RelativeAlignment | None = None

    @property
    def spike_rate(self) -> float:
        """Share of steps with a spike under ``rule``; NaN without a step. Above
        :data:`~reasongraph.onset_relative.NEAR_SATURATED` the rule is near-saturated."""
        return float(self.step_spikes.mean()) if self.step_spikes.size else math.nan

    @property
    def table(self) -> np.ndarray:
        """(2, 2) int, rows revisit yes/no, columns spike yes/no."""
        return self.revisit_spike.table

    @property
    def odds_ratio(self) -> float:
        return self.revisit_spike.odds_ratio

    @property
    def odds_ratio_corrected(self) -> bool:
        return self.revisit_spike.odds_ratio_corrected

    @property
    def fisher_p(self) -> float:
        return self.revisit_spike.fisher_p

    @property
    def fisher_p_greater(self) -> float:
        return self.revisit_spike.fisher_p_greater

    @property
    def marker_revisit_table(self) -> np.ndarray | None:
        return None if self.marker_revisit is None else self.marker_revisit.table

    @property
    def marker_spike_table(self) -> np.ndarray | None:
        return None if self.marker_spike is None else self.marker_spike.table

    def as_dict(self) -> dict[str, Any]:
        """Flat JSON-able summary (the row fields of scored datasets); marker fields are None without markers.

        Keys: ``align_rule``; the cells ``align_{revisit,norevisit}_{spike,nospike}``; ``align_odds_ratio``,
        ``align_odds_ratio_corrected``, ``align_fisher_p``, ``align_fisher_p_greater``, ``align_enrichment``,
        ``align_p_value``, ``align_n_hidden_only``, ``align_n_token_only``, ``align_hidden_only_share``,
        ``align_onset_fork_rate``, ``align_onset_fork_null``, ``align_spike_threshold``,
        ``onset_entropy_mean`` (mean over steps with a defined onset entropy); ``align_spike_rate`` (steps with a
        spike under ``rule``, a share) and ``align_near_saturated`` (that share above 0.8); the onset-relative
        rule's ``align_rel_*`` (:meth:`reasongraph.onset_relative.RelativeAlignment.as_dict`); the marker cells
        ``align_{revisit,norevisit}_{marker,nomarker}`` and ``align_{marker,nomarker}_{spike,nospike}``, and
        ``marker_revisit_*`` / ``marker_spike_*`` with ``odds_ratio``, ``odds_ratio_corrected``, ``fisher_p``,
        ``fisher_p_greater``.
        """
        onset = self.onset_entropy[np.isfinite(self.onset_entropy)]
        out: dict[str, Any] = {"align_rule": self.rule}
        out.update(_cells(self.revisit_spike, ("revisit", "norevisit"), ("spike", "nospike")))
        out.update(_statistics(self.revisit_spike, "align"))
        out.update({
            "align_enrichment": float(self.enrichment),
            "align_p_value": float(self.p_value),
            "align_n_hidden_only": int(self.hidden_only.size),
            "align_n_token_only": int(self.token_only.size),
            "align_hidden_only_share": float(self.hidden_only_share),
            "align_onset_fork_rate": float(self.onset_fork_rate),
            "align_onset_fork_null": float(self.onset_fork_null),
            "align_spike_threshold": float(self.threshold),
            "onset_entropy_mean": float(onset.mean()) if onset.size else math.nan,
            "align_spike_rate": self.spike_rate,
            "align_near_saturated": near_saturated(self.spike_rate),
        })
        if self.relative is not None:
            out.update(self.relative.as_dict())
        out.update(_cells(self.marker_revisit, ("revisit", "norevisit"), ("marker", "nomarker")))
        out.update(_cells(self.marker_spike, ("marker", "nomarker"), ("spike", "nospike")))
        out.update(_statistics(self.marker_revisit, "marker_revisit"))
        out.update(_statistics(self.marker_spike, "marker_spike"))
        return out


def _cells(t: TwoByTwo | None, rows: tuple[str, str], cols: tuple[str, str]) -> dict[str, int | None]:
    return {f"align_{r}_{c}": None if t is None else int(t.table[i, j])
            for i, r in enumerate(rows) for j, c in enumerate(cols)}


def _statistics(t: TwoByTwo | None, prefix: str) -> dict[str, Any]:
    if t is not None:
        return t.stats_dict(prefix)
    return dict.fromkeys(f"{prefix}_{k}" for k in ("odds_ratio", "odds_ratio_corrected", "fisher_p",
                                                    "fisher_p_greater"))


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


# ---------------------------------------------------------------------- input checks
def _array(value: Any, name: str, dtype: Any = None) -> np.ndarray:
    """``np.asarray(value, dtype)``, with what numpy cannot convert (ragged lists, strings) an InputError."""
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as e:
        raise InputError(f"{opt(name)} must be a numeric array ({e})") from None


def _entropy(entropy: Any) -> np.ndarray:
    entropy = _array(entropy, "entropy", np.float64)
    if entropy.ndim != 1:
        raise InputError(f"entropy must be a 1-D (n_tokens,) array, got shape {entropy.shape}")
    return entropy


def _step_spans(step_spans: Any, n_tokens: int) -> np.ndarray:
    spans = _array(step_spans, "step_spans")
    if spans.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    if spans.ndim != 2 or spans.shape[1] != 2 or not np.issubdtype(spans.dtype, np.integer):
        raise InputError(f"{opt('step_spans')} must be an (n_steps, 2) integer array, got shape {spans.shape} "
                         f"and dtype {spans.dtype}")
    spans = spans.astype(np.int64)
    if np.any(spans[:, 0] < 0) or np.any(spans[:, 1] < spans[:, 0]) or np.any(spans[:, 1] > n_tokens):
        raise InputError(f"{opt('step_spans')} must satisfy 0 <= start <= end <= n_tokens ({n_tokens})")
    return spans


def _step_mask(steps: Any, n_steps: int, name: str) -> np.ndarray:
    """A bool mask per step from step indices (or an already boolean mask)."""
    steps = _array(steps, name)
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


def _check_window(onset_tokens: int, lookback: int) -> None:
    check_int("onset_tokens", onset_tokens, low=1)
    check_int("lookback", lookback, low=0)


# ---------------------------------------------------------------------- the onset rule
def _onset_windows(spans: np.ndarray, n_tokens: int, onset_tokens: int,
                   lookback: int) -> tuple[np.ndarray, np.ndarray]:
    """Token windows [lo, hi) = [s - w, min(s + m, e)) of each step, clipped to [0, n_tokens)."""
    onset_tokens, lookback = min(onset_tokens, n_tokens), min(lookback, n_tokens)  # no window is wider
    lo = np.clip(spans[:, 0] - lookback, 0, n_tokens)
    hi = np.clip(np.minimum(spans[:, 0] + onset_tokens, spans[:, 1]), 0, n_tokens)
    return lo, np.maximum(hi, lo)


def onset_entropy(entropy: Any, step_spans: Any, *, onset_tokens: int = 1, lookback: int = 0) -> np.ndarray:
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
    entropy = _entropy(entropy)
    _check_window(onset_tokens, lookback)
    spans = _step_spans(step_spans, entropy.size)
    lo, hi = _onset_windows(spans, entropy.size, onset_tokens, lookback)
    if entropy.size == 0:
        return np.full(spans.shape[0], np.nan)
    idx = lo[:, None] + np.arange(min(onset_tokens + lookback, entropy.size))  # a window never exceeds the trace
    values = np.where(idx < hi[:, None], entropy[np.minimum(idx, entropy.size - 1)], np.nan)
    return np.fmax.reduce(values, axis=1)  # fmax skips NaN and gives NaN only when all are NaN


def _any_in(spikes: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    cum = np.concatenate([[0], np.cumsum(spikes)])
    return cum[hi] - cum[lo] > 0


# ---------------------------------------------------------------------- the span rule and its null
def step_has_spike(spikes: Any, step_spans: Any, lookback: int = 0) -> np.ndarray:
    """Whether each step holds a spike in tokens [start - lookback, end) (clipped at 0): the "span" rule.

    Parameters
    ----------
    spikes : (n_tokens,) bool, e.g. from :func:`reasongraph.signals.forking_tokens`.
    step_spans : (n_steps, 2) token spans [start, end).
    lookback : tokens before each step that also count.

    Returns
    -------
    (n_steps,) bool.
    """
    spikes = _array(spikes, "spikes", bool)
    if spikes.ndim != 1:
        raise InputError(f"{opt('spikes')} must be a 1-D (n_tokens,) array, got shape {spikes.shape}")
    spans = _step_spans(step_spans, spikes.size)
    check_int("lookback", lookback, low=0)
    return _any_in(spikes, np.maximum(spans[:, 0] - min(lookback, spikes.size), 0), spans[:, 1])


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
    at_least = 0
    for start in range(0, n_shifts, _SHIFT_BLOCK):  # blocks bound the (shifts x revisits) count matrix
        null = (_shifted_spike_counts(spikes, lo, hi, shifts[start:start + _SHIFT_BLOCK]) > 0).sum(axis=1)
        at_least += int(np.count_nonzero(null >= observed))
    return float((1 + at_least) / (1 + n_shifts))


# ---------------------------------------------------------------------- alignment
def align(
    entropy: Any,
    step_spans: Any,
    revisit_steps: Any,
    *,
    rule: str = "onset",
    rho: float = 0.2,
    forking_threshold: float | None = None,
    spikes: Any = None,
    onset_tokens: int = 1,
    lookback: int = 0,
    n_shifts: int = 1000,
    seed: int = 0,
    min_shift: int | None = None,
    marker_steps: Any = None,
) -> Alignment:
    """Align revisit events with entropy spikes (and aha markers) at the step level, for one trace.

    Rule "onset" (default): a step has a spike when its :func:`onset_entropy` is >= theta, theta the trace's
    top-``rho`` threshold (:func:`reasongraph.signals.top_rho_threshold`), or > ``forking_threshold`` when one
    is given (an absolute value such as the 80/20 paper's 0.672 nats; a run-wide pooled threshold given here is
    applied with > too). Equivalently: a forking token lies in the
    onset window [s - lookback, min(s + onset_tokens, e)), which is also how a given ``spikes`` mask is read.
    If onset tokens were ordinary tokens, a step would have an onset spike with probability
    1 - (1 - rho)^(onset_tokens + lookback) (``onset_fork_null``); ``onset_fork_rate`` is the observed share.

    Rule "span": a step has a spike when a forking token lies anywhere in [s - lookback, e). It is not the
    default because it cannot fail: with newline steps of ~27 tokens, P(a step holds a top-20% token) =
    1 - 0.8^27 = 0.998, so nearly every step "has a spike" and hidden-only events are zero by construction.
    It keeps its circular-shift permutation test (``p_value``): the spike mask is shifted circularly by a random
    offset k in [min_shift, n - min_shift] (``numpy.random.default_rng(seed)``) and the statistic (revisit
    steps with a spike) recounted; p = (1 + #{null >= observed}) / (1 + n_shifts). A circular shift keeps the
    burstiness of entropy and the step structure and breaks only their relative position; shifting the mask is
    the same as recomputing spikes on the shifted entropy for both threshold rules. Offsets shorter than a step
    would leave most spikes in the step they came from and put a floor of about 2 * step length / n under p,
    hence ``min_shift`` (``min_shift=1``: all of 1..n-1).

    Both rules give the 2x2 table revisit x spike with its odds ratio (Haldane-Anscombe corrected when a cell
    is 0) and Fisher's exact test, two-sided and one-sided "greater" (revisits begin at forks more often).
    Beside them, always, the onset-relative rule (``relative``: the ceil(rho * n) steps of highest onset entropy
    spike; :mod:`reasongraph.onset_relative`), which cannot saturate.

    Parameters
    ----------
    entropy : (n_tokens,) nats; NaN never spikes.
    step_spans : (n_steps, 2) token spans [start, end) of the steps (``Trace.step_spans()``).
    revisit_steps : indices of the revisit steps, or an (n_steps,) bool mask.
    rule : "onset" or "span".
    rho : share of the trace's tokens above the threshold (ignored with ``forking_threshold`` or ``spikes``).
    forking_threshold : an absolute threshold; spikes are tokens with entropy strictly above it.
    spikes : an (n_tokens,) bool spike mask to use instead of a threshold.
    onset_tokens : m, the step's first tokens in its onset window (rule "onset" and ``onset_entropy``).
    lookback : w, tokens before a step that also count for it (both rules).
    n_shifts : circular shifts of the span rule's permutation test; 0 skips it.
    seed : seed of the shifts; the same seed gives the same p-value.
    min_shift : smallest circular shift, capped at n // 2; ``None`` means the longest step span plus
        ``lookback``, so that every shift moves each spike out of the counting span of its own step.
    marker_steps : optional (n_steps,) bool, steps with an aha marker (see
        :func:`reasongraph.markers.markers_per_step`); adds the marker x revisit and marker x spike tables.

    Returns
    -------
    Alignment
    """
    entropy = _entropy(entropy)
    n_tokens = entropy.size
    if rule not in RULES:
        raise InputError(f"{opt('rule')} must be one of {', '.join(RULES)}, got {rule!r}")
    _check_window(onset_tokens, lookback)
    check_int("n_shifts", n_shifts, low=0, high=MAX_SHIFTS)
    check_seed("seed", seed)
    if min_shift is not None:
        check_int("min_shift", min_shift, low=1)
    spans = _step_spans(step_spans, n_tokens)
    n_steps = spans.shape[0]
    revisit = _step_mask(revisit_steps, n_steps, "revisit_steps")

    if spikes is not None:
        spikes = _array(spikes, "spikes")
        if spikes.dtype != bool or spikes.shape != (n_tokens,):
            raise InputError(f"{opt('spikes')} must be a bool array of shape ({n_tokens},)")
        theta = null_rate = math.nan
    else:
        spikes = forking_tokens(entropy, rho=rho, forking_threshold=forking_threshold)
        if forking_threshold is not None:
            theta, null_rate = float(forking_threshold), math.nan
        else:
            theta = top_rho_threshold(entropy, rho)
            null_rate = 1.0 - (1.0 - rho) ** (onset_tokens + lookback)

    onset_spikes = _any_in(spikes, *_onset_windows(spans, n_tokens, onset_tokens, lookback))
    p_value = math.nan
    if rule == "onset":
        has_spike = onset_spikes
    else:
        has_spike = step_has_spike(spikes, spans, lookback)
        if min_shift is None:
            min_shift = int(np.max(spans[:, 1] - spans[:, 0], initial=0)) + lookback
        lo = np.maximum(spans[revisit, 0] - min(lookback, n_tokens), 0)
        observed = int(np.sum(revisit & has_spike))
        p_value = _permutation_p(spikes, lo, spans[revisit, 1], observed, n_shifts, seed, min_shift)

    table = _table(revisit, has_spike)
    onsets = onset_entropy(entropy, spans, onset_tokens=onset_tokens, lookback=lookback)
    hidden_only = np.flatnonzero(revisit & ~has_spike)
    n_revisits = int(revisit.sum())
    marker_revisit = marker_spike = None
    if marker_steps is not None:
        markers = _array(marker_steps, "marker_steps")
        if markers.dtype != bool or markers.shape != (n_steps,):
            raise InputError(f"{opt('marker_steps')} must be a bool array of shape ({n_steps},)")
        marker_revisit = TwoByTwo.from_table(_table(revisit, markers))
        marker_spike = TwoByTwo.from_table(_table(markers, has_spike))

    return Alignment(
        rule=rule,
        revisit_spike=TwoByTwo.from_table(table),
        enrichment=_enrichment(table),
        p_value=p_value,
        hidden_only=hidden_only,
        token_only=np.flatnonzero(~revisit & has_spike),
        hidden_only_share=hidden_only.size / n_revisits if n_revisits else math.nan,
        step_spikes=has_spike,
        onset_entropy=onsets,
        onset_fork_rate=float(onset_spikes.mean()) if n_steps else math.nan,
        onset_fork_null=null_rate,
        threshold=theta,
        marker_revisit=marker_revisit,
        marker_spike=marker_spike,
        relative=relative_alignment(onsets, revisit, rho),
    )
