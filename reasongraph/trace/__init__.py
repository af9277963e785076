"""Layer 3: one trace. The :class:`~reasongraph.trace.trace.Trace` value, how its text is cut into steps, its token
signals (entropy, forking tokens) and markers, its hidden-state measures, teacher-forced extraction, sampling that
records what scoring needs, and the cache of extracted traces.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "AHA_MARKERS": "reasongraph.trace.markers",
    "char_spans": "reasongraph.trace.segmenters",
    "check_extract_options": "reasongraph.trace.options",
    "compile_patterns": "reasongraph.trace.markers",
    "entropy_of": "reasongraph.trace.token_signals",
    "entropy_summary": "reasongraph.trace.token_signals",
    "find_markers": "reasongraph.trace.markers",
    "forking_tokens": "reasongraph.trace.token_signals",
    "LOW_ENTROPY": "reasongraph.trace.token_signals",
    "Marker": "reasongraph.trace.markers",
    "marker_steps": "reasongraph.trace.markers",
    "markers_per_step": "reasongraph.trace.markers",
    "parse_segmenter": "reasongraph.trace.segmenters",
    "register_segmenter": "reasongraph.trace.segmenters",
    "segment_steps": "reasongraph.trace.steps",
    "Segmenter": "reasongraph.trace.segmenters",
    "segmenter_names": "reasongraph.trace.segmenters",
    "Step": "reasongraph.trace.steps",
    "top_rho_threshold": "reasongraph.trace.token_signals",
    "Trace": "reasongraph.trace.trace",
    "TraceCache": "reasongraph.trace.cache",
    "trace_cache_options": "reasongraph.trace.cache",
    "unregister_segmenter": "reasongraph.trace.segmenters",
    "validate_segmenter": "reasongraph.trace.segmenters",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
