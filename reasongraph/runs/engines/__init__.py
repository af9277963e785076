"""The engines that run the passes of a scoring run (the :class:`Engine` protocol): this process (:mod:`.local`), or
a Ray cluster (:mod:`.ray`); more through :func:`register_engine`."""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "Engine": "reasongraph.runs.engines.protocol",
    "ConnectOptions": "reasongraph.runs.engines.protocol",
    "EnginePlan": "reasongraph.runs.engines.protocol",
    "ENGINES": "reasongraph.runs.engines.registry",
    "engine_names": "reasongraph.runs.engines.registry",
    "Failed": "reasongraph.runs.engines.protocol",
    "LocalEngine": "reasongraph.runs.engines.local",
    "Missing": "reasongraph.runs.engines.protocol",
    "open_engine": "reasongraph.runs.engines.registry",
    "PlanRequest": "reasongraph.runs.engines.protocol",
    "register_engine": "reasongraph.runs.engines.registry",
    "Row": "reasongraph.runs.engines.protocol",
    "Scored": "reasongraph.runs.engines.protocol",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
