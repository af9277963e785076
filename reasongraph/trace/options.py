"""The extraction options checked before a model loads, and the prompt formats."""
from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Sequence

import numpy as np

from reasongraph.core.checks import check_choice, check_number
from reasongraph.core.errors import InputError, opt
from reasongraph.trace.segmenters import validate_segmenter

if TYPE_CHECKING:
    from reasongraph.trace.extraction.layers import LayerSpec


PROMPT_FORMATS = ("raw", "chat")


def check_extract_options(*, layers: Sequence[LayerSpec] = (0.9,), segment: str = "newline",
                          temperature: float = 1.0, prompt_format: str = "raw", truncate: bool = False) -> None:
    """Raise InputError for the first extraction option out of range: each is checked before a model loads."""
    validate_segmenter(segment)
    check_number("temperature", temperature, low=0, low_open=True)
    check_choice("prompt_format", prompt_format, PROMPT_FORMATS)
    if not isinstance(truncate, bool):
        raise InputError(f"{opt('truncate')} must be True or False, got {truncate!r}")
    try:
        if isinstance(layers, (str, bytes)):
            raise TypeError
        specs = (layers,) if isinstance(layers, (int, float, np.integer)) else tuple(layers)
    except TypeError:
        raise InputError(f"{opt('layers')} must be a layer or a list of layers, got {layers!r}") from None
    for spec in specs:
        if isinstance(spec, bool) or not isinstance(spec, (int, float, np.integer, np.floating)):
            raise InputError(f"{opt('layers')}: a layer is an int index or a float ratio, got {spec!r}")
        if isinstance(spec, (float, np.floating)) and not 0.0 < spec <= 1.0:
            raise InputError(f"{opt('layers')}: a layer ratio is a share of the depth in (0, 1], got {spec}")
    if len(set(specs)) < len(specs):
        raise InputError(f"{opt('layers')} names a layer twice: {list(specs)}")
