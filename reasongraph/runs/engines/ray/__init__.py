"""The Ray engine of :func:`reasongraph.score_dataset` (``engine="ray"``): both passes spread over a Ray cluster."""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "INSTALL": "reasongraph.runs.engines.ray.engine",
    "RayEngine": "reasongraph.runs.engines.ray.engine",
    "RETRIES": "reasongraph.runs.engines.ray.engine",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
