"""Layer 5: what the measures mean together. One trace's analysis (:func:`analyze`), the alignment of revisits with
entropy spikes, the metric catalogue, the diversity of a prompt's samples, and tables over groups of traces.

The one arrow upwards in the package: :meth:`Analysis.to_html` draws the view of an analysis with
:mod:`reasongraph.html`.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "Analysis": "reasongraph.analysis.result",
    "analyze": "reasongraph.analysis.one_trace",
    "analyze_trace": "reasongraph.analysis.one_trace",
    "by_key": "reasongraph.analysis.catalogue",
    "check_analysis_options": "reasongraph.analysis.one_trace",
    "compare_keys": "reasongraph.analysis.catalogue",
    "distribution_keys": "reasongraph.analysis.catalogue",
    "graph_metrics": "reasongraph.analysis.one_trace",
    "layer_metrics": "reasongraph.analysis.one_trace",
    "load_analysis": "reasongraph.analysis.one_trace",
    "markdown": "reasongraph.analysis.catalogue",
    "METRICS": "reasongraph.analysis.catalogue",
    "panel": "reasongraph.analysis.catalogue",
    "summary_keys": "reasongraph.analysis.catalogue",
    "synthetic_analysis": "reasongraph.analysis.synthetic",
    "synthetic_trace": "reasongraph.analysis.synthetic",
    "top_keys": "reasongraph.analysis.catalogue",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
