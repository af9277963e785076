"""Values made JSON-able, in one place: :func:`json_value` (rows keep NaN; pages and strict files write it as null,
and pages also replace lone surrogates and write anything else as text), finite floats or null, JSON scalars."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from reasongraph.core.text import replace_lone_surrogates

__all__ = ["finite_or_none", "json_value", "scalar", "strict_json"]


def json_value(v: Any, *, nonfinite: str = "keep", clean_text: bool = False, unknown: str = "keep") -> Any:
    """``v`` with NumPy scalars and arrays (anything with ``tolist``) as plain Python values, tuples as lists and
    dict keys as text, recursively.

    nonfinite : ``"keep"`` NaN and infinities (rows, written as NaN), or ``"null"`` (strict JSON: None).
    clean_text : replace lone surrogates in strings and keys by U+FFFD (they cannot be written as UTF-8).
    unknown : ``"keep"`` any other value as it is, or ``"str"``: sets as lists sorted by their text, anything else
        but None as its text (a page's payload holds nothing json.dumps refuses).
    """
    def again(x: Any) -> Any:
        return json_value(x, nonfinite=nonfinite, clean_text=clean_text, unknown=unknown)

    if isinstance(v, str):
        return replace_lone_surrogates(v) if clean_text else v
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if nonfinite == "null" and not math.isfinite(f) else f
    if isinstance(v, dict):
        return {(replace_lone_surrogates(str(k)) if clean_text else str(k)): again(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [again(x) for x in v]
    if hasattr(v, "tolist") and not isinstance(v, (bytes, bytearray)):
        return again(v.tolist())
    if unknown == "keep" or v is None:
        return v
    if isinstance(v, (set, frozenset)):
        return [again(x) for x in sorted(v, key=str)]
    return again(str(v))


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
    return json_value(value, nonfinite="null")
