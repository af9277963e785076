"""Forking tokens: the trace's top ``rho`` tokens by entropy (or those above ``forking_threshold``).

The entries of the run-wide shares (``forking_share_pooled``, ``forking_share_ref``) sit here too: pass 2 of a
scoring run adds the first to each row against the run's pooled threshold, ``compare`` the second.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from reasongraph.analysis.metrics.family import TraceMetrics
from reasongraph.core.metric import Metric

if TYPE_CHECKING:
    from reasongraph.analysis.metrics.context import TraceContext

__all__ = ["ENTRIES", "FAMILY", "compute"]

ENTRIES: tuple[Metric, ...] = (
    Metric("n_forking", "forking tokens", "tokens in the trace's top rho by entropy", None, "token"),
    Metric("forking_share", "forking share", "share of forking tokens (about rho by construction)", None, "token"),
    Metric("forking_share_pooled", "forking share (run)", "share of tokens above the run-wide top-rho threshold",
           None, "token", "+", compare=True, summary="forking",
           definition="Share of the trace's tokens at or above one run-wide threshold: the top-rho entropy of "
                      "all tokens of the run (a seeded sample of at most 2M), or above an absolute threshold."),
    Metric("forking_share_ref", "forking share (ref A)", "share of tokens above group A's top-20% threshold",
           None, "token", "+", compare=True,
           definition="Share of the trace's tokens at or above the reference group A's pooled top-rho "
                      "threshold (rho = 0.2): forking_share_ref of the seed question."),
)


def compute(ctx: TraceContext) -> dict:
    """How many of the trace's tokens fork, and their share (NaN for a trace without tokens)."""
    forking = ctx.forking
    return {"n_forking": int(forking.sum()), "forking_share": float(forking.mean()) if forking.size else math.nan}


FAMILY = TraceMetrics("forking", ENTRIES, compute)
