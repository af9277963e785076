"""The sampling options of :func:`reasongraph.runs.generate`, checked before a model loads."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from reasongraph.core.errors import InputError, opt
from reasongraph.trace.options import PROMPT_FORMATS

__all__ = ["check_options"]


# ---------------------------------------------------------------------- validation
def check_options(*, samples: int, temperature: float, top_p: float, max_new_tokens: int, seed: int,
                  prompt_format: str, batch_size: int | None) -> None:
    """Raise InputError for a sampling option out of range (cheap: no model, no file)."""
    if not _whole(samples) or samples < 1:
        raise InputError(f"{opt('samples')} must be a whole number >= 1, got {samples!r}")
    if not _real(temperature) or not (math.isfinite(temperature) and temperature > 0):
        raise InputError(f"{opt('temperature')} must be a finite number > 0, got {temperature!r}")
    if not _real(top_p) or not 0 < top_p <= 1:
        raise InputError(f"{opt('top_p')} must be in (0, 1], got {top_p!r}")
    if not _whole(max_new_tokens) or max_new_tokens < 1:
        raise InputError(f"{opt('max_new_tokens')} must be a whole number >= 1, got {max_new_tokens!r}")
    if not _whole(seed) or seed < 0:
        raise InputError(f"{opt('seed')} must be a whole number >= 0, got {seed!r}")
    if prompt_format not in PROMPT_FORMATS:
        raise InputError(f"{opt('prompt_format')} must be 'raw' or 'chat', got {prompt_format!r}")
    if batch_size is not None and (not _whole(batch_size) or batch_size < 1):
        raise InputError(f"{opt('batch_size')} must be a whole number >= 1, got {batch_size!r}")


def _whole(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _real(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)
