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
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "Alignment": "reasongraph.analysis.alignment.alignment",
    "MAX_SHIFTS": "reasongraph.analysis.alignment.spike_rules",
    "MIN_STEPS": "reasongraph.analysis.alignment.onset_relative",
    "NEAR_SATURATED": "reasongraph.analysis.alignment.onset_relative",
    "near_saturated": "reasongraph.analysis.alignment.onset_relative",
    "onset_entropy": "reasongraph.analysis.alignment.spike_rules",
    "relative_alignment": "reasongraph.analysis.alignment.onset_relative",
    "relative_spikes": "reasongraph.analysis.alignment.onset_relative",
    "RelativeAlignment": "reasongraph.analysis.alignment.onset_relative",
    "RULES": "reasongraph.analysis.alignment.spike_rules",
    "step_has_spike": "reasongraph.analysis.alignment.spike_rules",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
