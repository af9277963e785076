"""The reasoning graph's cycles and shape (cyclomatic number, strongly connected share, short cycles, diameter,
clustering, path length, small-world indices) and the length-controlled revisit rate.

One family, because :func:`reasongraph.graph.shape.topology_metrics` computes the cycles and the shape in one pass
over shared matrices, and rows list them between the walk's counts and the revisit rate.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from reasongraph.analysis.metrics.family import TraceMetrics
from reasongraph.analysis.metrics.walk import WALK_KEYS
from reasongraph.analysis.options import AnalysisOptions
from reasongraph.core.metric import TOR, Metric

if TYPE_CHECKING:
    from reasongraph.analysis.metrics.context import TraceContext
    from reasongraph.graph.reasoning_graph import ReasoningGraph

__all__ = ["ENTRIES", "FAMILY", "compute", "graph_metrics", "revisits_per_step"]

ENTRIES: tuple[Metric, ...] = (
    Metric("revisits_per_step", "revisits per step", "revisit events per step (length-controlled)", "cycles",
           "hidden", "+", compare=True, distribution=True,
           definition="n_revisits / n_steps: the per-step rate to compare between groups of different length.",
           check="walk [0,1,0,1,2,1] -> 0.5"),
    Metric("cycles_upto_k", "short cycles", "simple directed cycles of at most k nodes", "cycles", "graph", "+",
           compare=True,
           definition="Simple directed cycles of length <= k (default 5) in the graph, counted exactly up to a "
                      "cap; cycles_truncated says the cap was hit.", check="edges 0->1->0, 1->2->1 -> 2"),
    Metric("cycles_truncated", "cycle count capped", "the cycle count reached its cap", None, "graph"),
    Metric("scc_share", "share in cycles", "share of nodes inside a strongly connected component of size > 1",
           "cycles", "graph", "+",
           definition="Share of nodes that lie in a strongly connected component of more than one node."),
    Metric("diameter", "diameter", "longest shortest path, L2 step distances (compare ratios only)", "shape",
           "graph", "+", compare=True,
           definition="Longest finite directed shortest path (Dijkstra) over ordered pairs; edge weight = L2 "
                      "distance between consecutive step vectors, the smallest over repeated transitions as in "
                      "the released code. Unreachable pairs are ignored.", source=TOR),
    Metric("diameter_hops", "diameter (hops)", "longest shortest path in edges", "shape", "graph", "+",
           compare=True, distribution=True,
           definition="The diameter counted in edges.", source=TOR, check="path 0->1->2 -> 2"),
    Metric("avg_clustering", "clustering", "average local clustering (undirected, degree >= 2)", "shape", "graph",
           definition="Average local clustering coefficient of the undirected simple graph over nodes of "
                      "degree >= 2 only.", source=TOR, check="a triangle -> 1.0"),
    Metric("c_rand", "C random", "clustering of a random graph of the same size and mean degree", None, "graph",
           definition="<k> / (N - 1).", source=TOR),
    Metric("path_length", "path length", "mean shortest path, L2 weights", None, "graph",
           definition="Mean finite directed shortest path over ordered pairs, L2 weights.", source=TOR),
    Metric("path_length_hops", "path length (hops)", "mean shortest path in edges", "shape", "graph",
           definition="Mean finite directed shortest path in edges.", source=TOR),
    Metric("l_rand", "L random", "path length of a random graph of the same size and mean degree", None, "graph",
           definition="ln N / ln <k> (NaN when <k> <= 1).", source=TOR),
    Metric("small_world", "small-world", "(C / C_rand) / (L / L_rand), weighted L", "shape", "graph", "+",
           compare=True,
           definition="(C / C_rand) / (L / L_rand) with the L2-weighted L. The released code never computes it.",
           source=TOR),
    Metric("small_world_hops", "small-world (hops)", "(C / C_rand) / (L / L_rand), hop L", "shape", "graph", "+",
           compare=True, distribution=True,
           definition="(C / C_rand) / (L / L_rand) with L in hops.", source=TOR),
    Metric("cyclomatic", "cyclomatic", "E - V + C: independent cycles", "shape", "graph", "+",
           definition="E - V + C, C the weakly connected components.", check="edges 0->1, 1->0 -> 1"),
)


def revisits_per_step(walk_metrics: dict) -> float:
    """n_revisits / n_steps (NaN without steps): the rate to compare between groups of different length."""
    return walk_metrics["n_revisits"] / walk_metrics["n_steps"] if walk_metrics["n_steps"] else math.nan


def compute(ctx: TraceContext) -> dict:
    """The graph metrics other than the walk's counts, in the graph's order, then ``revisits_per_step``."""
    metrics = {k: v for k, v in ctx.graph_metrics.items() if k not in WALK_KEYS}
    metrics["revisits_per_step"] = revisits_per_step(ctx.graph_metrics)
    return metrics


def graph_metrics(graph: ReasoningGraph, *, length_bound: int = AnalysisOptions.length_bound) -> dict:
    """The graph's metrics and its revisits per step (the walk's and this family's keys, in row order)."""
    metrics = graph.metrics(length_bound=length_bound)
    metrics["revisits_per_step"] = revisits_per_step(metrics)
    return metrics


FAMILY = TraceMetrics("topology", ENTRIES, compute,
                      per_layer=("revisits_per_step", "cycles_upto_k", "diameter_hops", "small_world_hops"))
