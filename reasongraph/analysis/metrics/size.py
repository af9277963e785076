"""The size of a trace: its token count (its step count comes with the walk, :mod:`.walk`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from reasongraph.analysis.metrics.family import TraceMetrics
from reasongraph.core.metric import Metric

if TYPE_CHECKING:
    from reasongraph.analysis.metrics.context import TraceContext

__all__ = ["ENTRIES", "FAMILY", "compute"]

ENTRIES: tuple[Metric, ...] = (
    Metric("n_tokens", "tokens", "trace tokens (the prompt excluded)", None, "size", compare=True, top=True,
           definition="Number of trace tokens after tokenization (and truncation, if asked)."),
)


def compute(ctx: TraceContext) -> dict:
    """``n_tokens``: the trace's tokens, the prompt excluded."""
    return {"n_tokens": ctx.trace.n_tokens}


FAMILY = TraceMetrics("size", ENTRIES, compute)
