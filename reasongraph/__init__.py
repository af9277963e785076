"""reasongraph: analyze reasoning traces of language models through their hidden states.

A trace goes through one teacher-forced forward pass (token entropy, log-probs, chosen layers' hidden states),
its steps are clustered into the nodes of a directed reasoning graph, cycles in that graph (revisits of earlier
internal states) are counted, and they are aligned with token-entropy spikes to show exploration that token
metrics miss.

Heavy dependencies (torch, transformers) are imported only when a function needs them: the names below are
resolved lazily on first access.
"""
from reasongraph.core.lazy_names import lazy_names

__version__ = "0.1.0"

_EXPORTS = {
    "load_model": "reasongraph.models.sources",
    "LoadedModel": "reasongraph.models.loaded",
    "tiny_random_model": "reasongraph.models.tiny",
    "extract": "reasongraph.trace.extraction.teacher_forced",
    "extract_batch": "reasongraph.trace.extraction.teacher_forced",
    "Trace": "reasongraph.trace.trace",
    "Step": "reasongraph.trace.steps",
    "fit_clusterer": "reasongraph.graph.cluster.estimator",
    "load_clusterer": "reasongraph.graph.cluster.estimator",
    "StepClusterer": "reasongraph.graph.cluster.estimator",
    "ReasoningGraph": "reasongraph.graph.reasoning_graph",
    "Revisit": "reasongraph.graph.walk",
    "effective_rank": "reasongraph.trace.hidden.effective_rank",
    "window_measures": "reasongraph.trace.hidden.spectral",
    "template_texts": "reasongraph.analysis.samples.spread",
    "erank_dynamics": "reasongraph.trace.hidden.rank_dynamics",
    "entropy_summary": "reasongraph.trace.token_signals",
    "forking_tokens": "reasongraph.trace.token_signals",
    "find_markers": "reasongraph.trace.markers",
    "Alignment": "reasongraph.analysis.alignment.alignment",
    "analyze": "reasongraph.analysis.one_trace",
    "analyze_trace": "reasongraph.analysis.one_trace",
    "Analysis": "reasongraph.analysis.result",
    "score_dataset": "reasongraph.runs.scoring.score",
    "generate": "reasongraph.runs.generate.generate",
    "load_policy_entropy": "reasongraph.runs.generate.shards",
    "ScoredRun": "reasongraph.runs.folder.reader",
    "compare_groups": "reasongraph.analysis.groups.comparison",
    "write_run_report": "reasongraph.runs.folder.report",
    "locus": "reasongraph.train.locus.locus",
    "InputError": "reasongraph.core.errors",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
