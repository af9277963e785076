"""Layer specs (an index or a depth ratio) resolved to hidden-state indices of a model."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from reasongraph.core.errors import InputError, opt


LayerSpec = int | float


def resolve_layers(layers: Sequence[LayerSpec], num_layers: int) -> tuple[int, ...]:
    """Map layer specs to indices into ``hidden_states`` (0 .. num_layers), in the order given (the first gives
    the step vectors), each once."""
    if isinstance(layers, (int, float, np.integer)):
        layers = (layers,)
    out: dict[int, None] = {}
    for spec in layers:
        if isinstance(spec, bool) or not isinstance(spec, (int, float, np.integer, np.floating)):
            raise InputError(f"{opt('layers')}: a layer is an int index or a float ratio, got {spec!r}")
        if isinstance(spec, (float, np.floating)):
            if not 0.0 <= spec <= 1.0:
                raise InputError(f"{opt('layers')}: a layer ratio is a share of the depth in (0, 1], got {spec}")
            index = int(num_layers * spec)
        else:
            index = int(spec) + (num_layers + 1 if spec < 0 else 0)
        if not 0 <= index <= num_layers:
            raise InputError(f"{opt('layers')}: layer {spec} is out of range: the model has hidden states "
                             f"0..{num_layers}")
        out[index] = None
    return tuple(out)
