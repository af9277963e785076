"""Lines of the level-collapse table as text."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reasongraph.core.display import fmt, fmt_ci


def saturation_text(s: Mapping[str, Any]) -> str:
    text = fmt(s.get("spike_rate"), 3)
    if s.get("near_saturated"):
        text += " NEAR-SATURATED"
    if s.get("n_near_saturated"):
        text += f" ({s['n_near_saturated']} of {s['n_traces']} traces above 0.8)"
    return text


def interval_text(s: Mapping[str, float]) -> str:
    return f"{fmt(s['value'], 4)} {fmt_ci(s['ci_low'], s['ci_high'], 4)}"
