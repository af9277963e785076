"""The exploration probe: a fixed set of prompts sampled on-policy and scored by the same live model."""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "ExplorationProbe": "reasongraph.train.probe.probe",
    "is_correct": "reasongraph.train.probe.answers",
    "Measurement": "reasongraph.train.probe.measurement",
    "METRICS": "reasongraph.train.probe.measurement",
    "probe_mode": "reasongraph.train.probe.live_model",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
