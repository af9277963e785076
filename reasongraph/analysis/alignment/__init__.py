"""Where hidden-state revisits and token-entropy spikes meet, step by step: the onset rule, its 2x2 table and
statistics (:mod:`reasongraph.analysis.alignment.align` explains the rule), the spike rules and the onset-relative
rule.
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
