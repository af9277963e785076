"""Sampling traces from a model, each row from its own random stream, recording what scoring needs (token
entropy, log-probs, hidden states), and writing the samples as trace-cache entries.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "prompt_cache": "reasongraph.trace.sampling.decode",
    "RECORDED": "reasongraph.trace.sampling.recorded",
    "row_uniforms": "reasongraph.trace.sampling.draw",
    "Sample": "reasongraph.trace.sampling.decode",
    "sample_rows": "reasongraph.trace.sampling.decode",
    "sampled_trace": "reasongraph.trace.sampling.recorded",
    "SampledTraceWriter": "reasongraph.trace.sampling.recorded",
    "stop_token_ids": "reasongraph.trace.sampling.draw",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
