"""The token level: the summary of a trace's next-token entropies (:func:`reasongraph.trace.token_signals.
entropy_summary`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from reasongraph.analysis.metrics.family import TraceMetrics
from reasongraph.core.metric import F8020, Metric
from reasongraph.trace.token_signals import entropy_summary

if TYPE_CHECKING:
    from reasongraph.analysis.metrics.context import TraceContext

__all__ = ["ENTRIES", "FAMILY", "compute"]

ENTRIES: tuple[Metric, ...] = (
    Metric("mean_entropy", "mean entropy", "mean next-token entropy over the trace, nats", "token", "token", "+",
           compare=True, distribution=True, top=True, summary="entropy",
           definition="H_i = -sum_j p_j ln p_j, p = softmax(z / T) over the whole vocabulary from the logits "
                      "that predicted token i; the mean over the trace's tokens (NaN ignored). H_mean of the seed "
                      "question.", source=F8020,
           check="H([.5,.5]) = 0.693147; H([.8,.1,.1]) = 0.639032; uniform over 4 = 1.386294"),
    Metric("median_entropy", "median entropy", "median next-token entropy, nats", "token", "token", "+"),
    Metric("low_entropy_share", "share < 0.01", "share of near-deterministic tokens (H < 0.01 nats)", "token",
           "token", "-", compare=True,
           definition="Share of tokens with H < 0.01 nats (H_low_share; over half in the 80/20 paper).",
           source=F8020),
    Metric("entropy_p80", "80th percentile", "entropy above which a token is in the top 20%", "token", "token",
           "+", definition="The 80th percentile of the trace's token entropies (linear interpolation).",
           source=F8020),
)


def compute(ctx: TraceContext) -> dict:
    """Mean, median, near-deterministic share and 80th percentile of the token entropies (NaN ignored)."""
    return entropy_summary(ctx.trace.entropy)


FAMILY = TraceMetrics("token_entropy", ENTRIES, compute)
