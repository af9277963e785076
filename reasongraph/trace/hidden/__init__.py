"""Hidden-state measures of one trace: effective rank and its dynamics, spectral entropy, and the summary a lean
trace keeps.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "as_matrix": "reasongraph.trace.hidden.effective_rank",
    "check_window": "reasongraph.trace.hidden.rank_dynamics",
    "effective_rank_by_layer": "reasongraph.trace.hidden.effective_rank",
    "effective_rank_from_singular_values": "reasongraph.trace.hidden.effective_rank",
    "erank_dynamics": "reasongraph.trace.hidden.rank_dynamics",
    "erank_profile": "reasongraph.trace.hidden.rank_dynamics",
    "erank_velocity": "reasongraph.trace.hidden.rank_dynamics",
    "erank_window": "reasongraph.trace.hidden.rank_dynamics",
    "erank_window_norm": "reasongraph.trace.hidden.spectral",
    "hidden_summary": "reasongraph.trace.hidden.summary",
    "level_coupling": "reasongraph.trace.hidden.rank_dynamics",
    "missing_measures": "reasongraph.trace.hidden.summary",
    "PROFILE_WINDOW": "reasongraph.trace.hidden.rank_dynamics",
    "spectral_bound": "reasongraph.trace.hidden.spectral",
    "spectral_entropy": "reasongraph.trace.hidden.spectral",
    "spectral_entropy_from_singular_values": "reasongraph.trace.hidden.spectral",
    "spectral_entropy_window": "reasongraph.trace.hidden.spectral",
    "SUMMARY_KEYS": "reasongraph.trace.hidden.summary",
    "WINDOW": "reasongraph.trace.hidden.rank_dynamics",
    "window_eranks": "reasongraph.trace.hidden.rank_dynamics",
    "window_measures": "reasongraph.trace.hidden.spectral",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
