"""Layer 8: training runs. The exploration probe and the trainer callback, checkpoints and the checkpoint sweep, and
the locus of entropy collapse between two checkpoints (:mod:`reasongraph.train.locus`).
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "ARCHITECTURE_KEYS": "reasongraph.train.checkpoints",
    "Checkpoint": "reasongraph.train.checkpoints",
    "checkpoint_folders": "reasongraph.train.trainer_layouts",
    "ExplorationCallback": "reasongraph.train.callback",
    "find_checkpoints": "reasongraph.train.checkpoints",
    "model_folder": "reasongraph.train.trainer_layouts",
    "read_rewards": "reasongraph.train.checkpoints",
    "SweepResult": "reasongraph.train.sweep",
    "write_sweep": "reasongraph.train.sweep",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
