"""The metrics of one trace: families of metrics, each computed next to its catalogue entries (:mod:`.size`,
:mod:`.walk`, :mod:`.topology`, :mod:`.concentration`, :mod:`.token_entropy`, :mod:`.forking`, :mod:`.markers`,
:mod:`.hidden`, :mod:`.alignment`), their registry (:mod:`.registry`: add one with :func:`register_metric`), the
context they read (:mod:`.context`), and the entries of ``reasongraph locus`` (:mod:`.locus_entries`).
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "TraceContext": "reasongraph.analysis.metrics.context",
    "TraceMetrics": "reasongraph.analysis.metrics.family",
    "compute_metrics": "reasongraph.analysis.metrics.registry",
    "extra_metric_modules": "reasongraph.analysis.metrics.registry",
    "extra_metric_names": "reasongraph.analysis.metrics.registry",
    "import_metric_modules": "reasongraph.analysis.metrics.registry",
    "metric_families": "reasongraph.analysis.metrics.registry",
    "register_metric": "reasongraph.analysis.metrics.registry",
    "unregister_metric": "reasongraph.analysis.metrics.registry",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
