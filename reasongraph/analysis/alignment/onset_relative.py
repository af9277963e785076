"""The onset-relative spike rule: a rule that marks rho of a trace's steps by construction, so it cannot saturate.

The default (token-relative) rule gives a step an onset spike when the entropy that chose its first token is in the
trace's top rho of *all* tokens. Line starts are where a model decides, so most steps begin at such a token: on the
default model's demo trace 92% of steps do (chance 20%), only 2 steps are left without a spike, and hidden-only
events (revisits without a spike) are few by construction. A rule whose spike rate is near 1 cannot tell revisits
from other steps.

The onset-relative rule asks instead whether revisits begin at the *more uncertain* of the trace's decisions: the
ceil(rho * n) steps with the highest onset entropy spike, ties broken by the earlier step, n the steps with a defined
onset entropy (steps without one never spike). It needs n >= :data:`MIN_STEPS`, otherwise every value is NaN.
Its hidden-only share is an association, not a rate of exploration token entropy misses: rho of the steps spike
whatever the policy does. It is reported beside the token-relative rule, which stays the default; a token-relative
spike rate above :data:`NEAR_SATURATED` is flagged as near-saturated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from reasongraph.stats.two_by_two import TwoByTwo
from reasongraph.trace.options import ForkingOptions

__all__ = ["MIN_STEPS", "NEAR_SATURATED", "RelativeAlignment", "near_saturated", "relative_alignment",
           "relative_spikes"]

#: Steps with a defined onset entropy the onset-relative rule needs.
MIN_STEPS = 5
#: A token-relative spike rate above this is flagged: nearly every step spikes, so the rule can hardly fail.
NEAR_SATURATED = 0.8


def near_saturated(spike_rate: float) -> bool | None:
    """Whether a spike rate is above :data:`NEAR_SATURATED`; None when it is undefined (NaN, no step)."""
    return None if spike_rate is None or not math.isfinite(spike_rate) else bool(spike_rate > NEAR_SATURATED)


def relative_spikes(onset_entropy: Any, *, rho: float = ForkingOptions.rho) -> np.ndarray | None:
    """(n_steps,) bool: the ceil(rho * n) steps of highest onset entropy, ties to the earlier step; None when fewer
    than :data:`MIN_STEPS` steps have a defined (finite) onset entropy."""
    h = np.asarray(onset_entropy, dtype=np.float64).ravel()
    defined = np.isfinite(h)
    n = int(defined.sum())
    if n < MIN_STEPS:
        return None
    k = math.ceil(round(rho * n, 9))  # round: 0.2 * 15 is 3.0000000000000004 in floating point, not above 3
    order = np.lexsort((np.arange(h.size), -np.where(defined, h, -np.inf)))  # highest first, then earlier
    spikes = np.zeros(h.size, dtype=bool)
    spikes[order[:k]] = True
    return spikes


@dataclass(eq=False)
class RelativeAlignment:
    """Revisits against onset-relative spikes for one trace.

    ``revisit_spike``: the 2x2 step table revisit yes/no x relative spike yes/no with its odds ratio and Fisher
    tests, None when the rule is undefined (fewer than :data:`MIN_STEPS` defined onsets); ``step_spikes``: the
    (n_steps,) mask or None; ``hidden_only``: revisit steps without a relative spike.
    """

    revisit_spike: TwoByTwo | None
    step_spikes: np.ndarray | None
    hidden_only: np.ndarray

    def as_dict(self) -> dict[str, Any]:
        """Row fields: the cells ``align_rel_{revisit,norevisit}_{spike,nospike}`` (None when undefined),
        ``align_rel_odds_ratio``, ``align_rel_odds_ratio_corrected``, ``align_rel_fisher_p``,
        ``align_rel_fisher_p_greater``, ``align_rel_n_hidden_only``, ``align_rel_hidden_only_share`` (NaN when
        undefined, or without a revisit)."""
        t = self.revisit_spike
        cells = {f"align_rel_{r}_{c}": None if t is None else int(t.table[i, j])
                 for i, r in enumerate(("revisit", "norevisit")) for j, c in enumerate(("spike", "nospike"))}
        if t is None:
            stats = {"align_rel_odds_ratio": math.nan, "align_rel_odds_ratio_corrected": None,
                     "align_rel_fisher_p": math.nan, "align_rel_fisher_p_greater": math.nan}
            return {**cells, **stats, "align_rel_n_hidden_only": None, "align_rel_hidden_only_share": math.nan}
        revisits = int(t.table[0].sum())
        return {**cells, **t.stats_dict("align_rel"), "align_rel_n_hidden_only": int(self.hidden_only.size),
                "align_rel_hidden_only_share": self.hidden_only.size / revisits if revisits else math.nan}


def relative_alignment(onset_entropy: Any, revisit: np.ndarray, *, rho: float = ForkingOptions.rho
                       ) -> RelativeAlignment:
    """The onset-relative alignment of one trace: ``revisit`` an (n_steps,) bool mask of revisit steps,
    ``onset_entropy`` each step's onset entropy (:func:`reasongraph.analysis.alignment.spike_rules.onset_entropy`)."""
    revisit = np.asarray(revisit, dtype=bool)
    spikes = relative_spikes(onset_entropy, rho=rho)
    if spikes is None:
        return RelativeAlignment(None, None, np.zeros(0, dtype=np.int64))
    table = np.array([[np.sum(revisit & spikes), np.sum(revisit & ~spikes)],
                      [np.sum(~revisit & spikes), np.sum(~revisit & ~spikes)]], dtype=np.int64)
    return RelativeAlignment(TwoByTwo.from_table(table), spikes, np.flatnonzero(revisit & ~spikes))
