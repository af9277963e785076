"""Teacher-forced extraction: one forward pass over prompt and trace gives the token entropies, log-probs and
the chosen layers' hidden states of a :class:`~reasongraph.trace.trace.Trace`.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "default_batch_tokens": "reasongraph.trace.extraction.batching",
    "extract": "reasongraph.trace.extraction.teacher_forced",
    "extract_batch": "reasongraph.trace.extraction.teacher_forced",
    "LayerSpec": "reasongraph.trace.extraction.layers",
    "length_batches": "reasongraph.trace.extraction.batching",
    "Outputs": "reasongraph.trace.extraction.forward",
    "padding_share": "reasongraph.trace.extraction.batching",
    "pass_cost_tokens": "reasongraph.trace.extraction.batching",
    "PrefixCache": "reasongraph.trace.extraction.prefix_sharing",
    "resolve_layers": "reasongraph.trace.extraction.layers",
    "resolve_model": "reasongraph.trace.extraction.teacher_forced",
    "shared_prompt_groups": "reasongraph.trace.extraction.prefix_sharing",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
