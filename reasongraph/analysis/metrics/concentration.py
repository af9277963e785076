"""How unevenly the walk's steps fall on its nodes (:mod:`reasongraph.graph.visit_concentration`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from reasongraph.analysis.metrics.family import TraceMetrics
from reasongraph.core.metric import Metric
from reasongraph.graph.visit_concentration import visit_concentration

if TYPE_CHECKING:
    from reasongraph.analysis.metrics.context import TraceContext

__all__ = ["ENTRIES", "FAMILY", "compute"]

ENTRIES: tuple[Metric, ...] = (
    Metric("visit_gini", "visit Gini", "how unevenly the walk's steps fall on its nodes (0 even, towards 1 on "
           "one node)", "shape", "graph", "-", compare=True, distribution=True,
           definition="G = sum_ij |x_i - x_j| / (2 n^2 mean(x)) over the visit counts x (steps per node) of the "
                      "visited nodes; NaN with fewer than 3 visited nodes.",
           check="[4,2,1,1] -> 0.3125; [2,2,2,2] -> 0"),
    Metric("visit_decay", "visit decay", "rank-frequency decay exponent of node visits (steeper: more "
           "concentrated)", "shape", "graph", "-", compare=True,
           definition="Minus the least-squares slope of ln(count) against ln(rank), the visit counts sorted in "
                      "decreasing order (rank 1 the most visited); NaN with fewer than 3 visited nodes. A later "
                      "paper of the Topology of Reasoning group reports it about 2.5x steeper after RL.",
           check="[8,4,2,1] -> 1.459022"),
)


def compute(ctx: TraceContext) -> dict:
    """``visit_gini`` and ``visit_decay`` of the walk's visit counts."""
    return visit_concentration(ctx.graph.walk)


FAMILY = TraceMetrics("concentration", ENTRIES, compute)
