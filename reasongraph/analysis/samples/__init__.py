"""Several samples of one prompt: the diversity of their walks and texts, and the cross-sample spread of
their hidden states.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "collapse_runs": "reasongraph.analysis.samples.diversity",
    "cosine_spread": "reasongraph.analysis.samples.spread",
    "distinct_3gram_share": "reasongraph.analysis.samples.diversity",
    "distinct_walk_share": "reasongraph.analysis.samples.diversity",
    "diversity_metrics": "reasongraph.analysis.samples.diversity",
    "levenshtein": "reasongraph.analysis.samples.diversity",
    "METRICS": "reasongraph.analysis.samples.diversity",
    "MIN_TOKENS": "reasongraph.analysis.samples.spread",
    "node_coverage": "reasongraph.analysis.samples.diversity",
    "node_entropy": "reasongraph.analysis.samples.spread",
    "node_information": "reasongraph.analysis.samples.spread",
    "prefix_means": "reasongraph.analysis.samples.spread",
    "prompt_spread": "reasongraph.analysis.samples.spread",
    "spread_length": "reasongraph.analysis.samples.spread",
    "SPREAD_METRICS": "reasongraph.analysis.samples.spread",
    "spread_variance": "reasongraph.analysis.samples.spread",
    "template_texts": "reasongraph.analysis.samples.spread",
    "walk_distance": "reasongraph.analysis.samples.diversity",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
