"""Aha markers: lexical self-correction cues in the text (:func:`reasongraph.trace.markers.find_markers`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from reasongraph.analysis.metrics.family import TraceMetrics
from reasongraph.core.metric import Metric

if TYPE_CHECKING:
    from reasongraph.analysis.metrics.context import TraceContext

__all__ = ["ENTRIES", "FAMILY", "compute"]

ENTRIES: tuple[Metric, ...] = (
    Metric("n_markers", "aha markers", "lexical self-correction cues (Wait, Hmm, Actually, ...)", "levels",
           "token", "+", definition="Occurrences of the aha-marker patterns in the text (whole words, case "
                                    "insensitive, non-overlapping)."),
)


def compute(ctx: TraceContext) -> dict:
    """``n_markers``: occurrences of the marker patterns."""
    return {"n_markers": len(ctx.markers)}


FAMILY = TraceMetrics("markers", ENTRIES, compute)
