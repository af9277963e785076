"""reasongraph: analyze reasoning traces of language models through their hidden states.

A trace goes through one teacher-forced forward pass (token entropy, log-probs, chosen layers' hidden states),
its steps are clustered into the nodes of a directed reasoning graph, cycles in that graph (revisits of earlier
internal states) are counted, and they are aligned with token-entropy spikes to show exploration that token
metrics miss.

Heavy dependencies (torch, transformers) are imported only when a function needs them: the names below are
resolved lazily on first access.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_model": "reasongraph.models",
    "LoadedModel": "reasongraph.models",
    "tiny_random_model": "reasongraph.models",
    "extract": "reasongraph.extraction",
    "extract_batch": "reasongraph.extraction",
    "Trace": "reasongraph.trace",
    "Step": "reasongraph.segment",
    "fit_clusterer": "reasongraph.cluster",
    "load_clusterer": "reasongraph.cluster",
    "StepClusterer": "reasongraph.cluster",
    "ReasoningGraph": "reasongraph.graph",
    "Revisit": "reasongraph.graph",
    "effective_rank": "reasongraph.erank",
    "window_measures": "reasongraph.spectral",
    "template_texts": "reasongraph.spread",
    "erank_dynamics": "reasongraph.erank",
    "entropy_summary": "reasongraph.signals",
    "forking_tokens": "reasongraph.signals",
    "find_markers": "reasongraph.markers",
    "Alignment": "reasongraph.align",
    "analyze": "reasongraph.analysis",
    "analyze_trace": "reasongraph.analysis",
    "Analysis": "reasongraph.analysis",
    "score_dataset": "reasongraph.dataset",
    "generate": "reasongraph.generate",
    "load_policy_entropy": "reasongraph.generate",
    "ScoredRun": "reasongraph.runs",
    "compare_groups": "reasongraph.compare",
    "write_run_report": "reasongraph.run_report",
    "locus": "reasongraph.locate.run",
    "InputError": "reasongraph.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'reasongraph' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
