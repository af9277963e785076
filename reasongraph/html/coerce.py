"""Values as a view payload holds them: finite floats or null, plain Python scalars."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["finite_or_none", "scalar"]


def finite_or_none(v: Any) -> float | None:
    """A finite float, or None for NaN, infinities and anything that is not a number."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def scalar(v: Any) -> Any:
    """A JSON scalar: bools and ints as they are, floats finite or None, anything else as text."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return finite_or_none(v)
    return v if v is None else str(v)
