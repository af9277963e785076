"""Values made JSON-able: finite floats or null, plain Python scalars, strict JSON (NaN as null)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["finite_or_none", "scalar", "strict_json"]


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


def strict_json(value: Any) -> Any:
    """``value`` made strict JSON, recursively: NaN and infinities as None, NumPy scalars and arrays as Python
    values (through their ``tolist``), tuples as lists."""
    import math

    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
