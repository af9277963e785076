"""Lines of the level-collapse table as text."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from reasongraph.core.display import fmt, fmt_ci


def saturation_text(s: Mapping[str, Any]) -> str:
    text = fmt(s.get("spike_rate"), digits=3)
    if s.get("near_saturated"):
        text += " NEAR-SATURATED"
    if s.get("n_near_saturated"):
        text += f" ({s['n_near_saturated']} of {s['n_traces']} traces above 0.8)"
    return text


def interval_text(s: Mapping[str, float]) -> str:
    return f"{fmt(s['value'], digits=4)} {fmt_ci(s['ci_low'], s['ci_high'], digits=4)}"


def variance_note(ratio: float) -> str:
    """The standard-deviation reading of a ratio of variances (``ratio`` finite and >= 0)."""
    return f"quadratic: {fmt(ratio, digits=3)}x variance is {fmt(math.sqrt(ratio), digits=3)}x in standard deviation"
