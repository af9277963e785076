"""Where hidden-state revisits and token-entropy spikes meet, step by step.

A revisit event is a step whose hidden state returns to an earlier cluster. A step's direction is decided at
its onset (the distribution that chose "Wait" rather than "So"); the rest of a long step is mostly forced. So a
step has an entropy spike when its **onset entropy** (the largest token entropy over its first m tokens and the
w tokens before it) reaches the forking threshold. If token entropy saw every reconsideration, revisit steps
would begin at a fork far more often than other steps: the per-trace 2x2 table revisit x onset spike, its odds
ratio and Fisher's exact test measure that. Revisits without an onset spike ("hidden-only") are the exploration
token metrics miss; onset spikes outside revisits ("token-only") the converse. Pool the traces' tables with
:func:`reasongraph.stats.mantel_haenszel.mantel_haenszel` (see :mod:`reasongraph.analysis.groups.pooled_alignment`).

The older rule "span" (a forking token anywhere in the step) stays as an option with its circular-shift
permutation test; it is not the default because it cannot fail (see :func:`align`). Everything here takes plain
arrays, so it runs without a model.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from reasongraph.analysis.alignment.alignment import Alignment, enrichment_ratio, two_by_two_counts
from reasongraph.analysis.alignment.onset_relative import relative_alignment
from reasongraph.analysis.alignment.spike_rules import (MAX_SHIFTS, RULES, any_in_windows, check_onset_window,
                                                        entropy_array, numeric_array, onset_entropy, onset_windows,
                                                        shift_permutation_p, step_has_spike, step_mask,
                                                        step_spans_array)
from reasongraph.analysis.options import AlignOptions
from reasongraph.core.checks import check_int, check_seed
from reasongraph.core.errors import InputError, opt
from reasongraph.core.options import SEED
from reasongraph.stats.two_by_two import TwoByTwo
from reasongraph.trace.options import ForkingOptions
from reasongraph.trace.token_signals import forking_tokens, top_rho_threshold

__all__ = ["align"]


# ---------------------------------------------------------------------- alignment
def align(
    entropy: Any,
    step_spans: Any,
    revisit_steps: Any,
    *,
    rule: str = AlignOptions.rule,
    rho: float = ForkingOptions.rho,
    forking_threshold: float | None = None,
    spikes: Any = None,
    onset_tokens: int = AlignOptions.onset_tokens,
    lookback: int = AlignOptions.lookback,
    n_shifts: int = AlignOptions.n_shifts,
    seed: int = SEED.default,
    min_shift: int | None = None,
    marker_steps: Any = None,
) -> Alignment:
    """Align revisit events with entropy spikes (and aha markers) at the step level, for one trace.

    Rule "onset" (default): a step has a spike when its :func:`onset_entropy` is >= theta, theta the trace's
    top-``rho`` threshold (:func:`reasongraph.trace.token_signals.top_rho_threshold`), or > ``forking_threshold`` when
    one is given (an absolute value such as the 80/20 paper's 0.672 nats; a run-wide pooled threshold given here is
    applied with > too). Equivalently: a forking token lies in the onset window [s - lookback, min(s + onset_tokens,
    e)), which is also how a given ``spikes`` mask is read. If onset tokens were ordinary tokens, a step would have an
    onset spike with probability 1 - (1 - rho)^(onset_tokens + lookback) (``onset_fork_null``); ``onset_fork_rate`` is
    the observed share.

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
    spike; :mod:`reasongraph.analysis.alignment.onset_relative`), which cannot saturate.

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
        :func:`reasongraph.trace.markers.markers_per_step`); adds the marker x revisit and marker x spike tables.

    Returns
    -------
    Alignment
    """
    entropy = entropy_array(entropy)
    n_tokens = entropy.size
    if rule not in RULES:
        raise InputError(f"{opt('rule')} must be one of {', '.join(RULES)}, got {rule!r}")
    check_onset_window(onset_tokens, lookback)
    check_int("n_shifts", n_shifts, low=0, high=MAX_SHIFTS)
    check_seed("seed", seed)
    if min_shift is not None:
        check_int("min_shift", min_shift, low=1)
    spans = step_spans_array(step_spans, n_tokens)
    n_steps = spans.shape[0]
    revisit = step_mask(revisit_steps, n_steps, "revisit_steps")

    if spikes is not None:
        spikes = numeric_array(spikes, "spikes")
        if spikes.dtype != bool or spikes.shape != (n_tokens,):
            raise InputError(f"{opt('spikes')} must be a bool array of shape ({n_tokens},)")
        theta = null_rate = math.nan
    else:
        spikes = forking_tokens(entropy, rho=rho, forking_threshold=forking_threshold)
        if forking_threshold is not None:
            theta, null_rate = float(forking_threshold), math.nan
        else:
            theta = top_rho_threshold(entropy, rho=rho)
            null_rate = 1.0 - (1.0 - rho) ** (onset_tokens + lookback)

    onset_spikes = any_in_windows(spikes, *onset_windows(spans, n_tokens, onset_tokens, lookback))
    p_value = math.nan
    if rule == "onset":
        has_spike = onset_spikes
    else:
        has_spike = step_has_spike(spikes, spans, lookback=lookback)
        if min_shift is None:
            min_shift = int(np.max(spans[:, 1] - spans[:, 0], initial=0)) + lookback
        lo = np.maximum(spans[revisit, 0] - min(lookback, n_tokens), 0)
        observed = int(np.sum(revisit & has_spike))
        p_value = shift_permutation_p(spikes, lo, spans[revisit, 1], observed, n_shifts, seed, min_shift)

    table = two_by_two_counts(revisit, has_spike)
    onsets = onset_entropy(entropy, spans, onset_tokens=onset_tokens, lookback=lookback)
    hidden_only = np.flatnonzero(revisit & ~has_spike)
    n_revisits = int(revisit.sum())
    marker_revisit = marker_spike = None
    if marker_steps is not None:
        markers = numeric_array(marker_steps, "marker_steps")
        if markers.dtype != bool or markers.shape != (n_steps,):
            raise InputError(f"{opt('marker_steps')} must be a bool array of shape ({n_steps},)")
        marker_revisit = TwoByTwo.from_table(two_by_two_counts(revisit, markers))
        marker_spike = TwoByTwo.from_table(two_by_two_counts(markers, has_spike))

    return Alignment(
        rule=rule,
        revisit_spike=TwoByTwo.from_table(table),
        enrichment=enrichment_ratio(table),
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
        relative=relative_alignment(onsets, revisit, rho=rho),
    )
