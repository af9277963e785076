"""The walk over hidden-state clusters: its steps, nodes, edges and revisits (the Topology of Reasoning counts),
read from :meth:`~reasongraph.graph.reasoning_graph.ReasoningGraph.metrics`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from reasongraph.analysis.metrics.family import TraceMetrics
from reasongraph.core.metric import TOR, Metric

if TYPE_CHECKING:
    from reasongraph.analysis.metrics.context import TraceContext
    from reasongraph.graph.reasoning_graph import ReasoningGraph

__all__ = ["ENTRIES", "FAMILY", "WALK_KEYS", "compute"]

ENTRIES: tuple[Metric, ...] = (
    Metric("n_steps", "steps", "reasoning steps (the nodes of the walk)", "cycles", "size", compare=True, top=True,
           definition="Steps of the trace: with the newline segmenter, lines stripped of white space and longer "
                      "than 5 characters.", source=TOR),
    # ------------------------------------------------------------------ cycles
    Metric("n_nodes", "nodes", "distinct hidden-state clusters the trace visits", "cycles", "graph",
           definition="Distinct clusters among the steps' labels (dropped steps excluded).", source=TOR),
    Metric("n_edges", "edges", "distinct transitions between clusters", "cycles", "graph",
           definition="Distinct directed edges between consecutive steps in different clusters; no self-loops.",
           source=TOR),
    Metric("loop_exists", "loop exists", "some cluster is visited again after another one in between", None,
           "graph", "+", compare=True,
           definition="True when some node is visited again after at least one other node in between (A,B,A); "
                      "A,A never counts. Its mean over traces is the detection ratio.", source=TOR,
           check="walk [0,1,0] -> True; [0,0,1] -> False"),
    Metric("loop_count", "loop count", "returns to the first revisited cluster (the paper's released code)",
           "cycles", "graph", "+", compare=True, distribution=True, top=True, summary="loops",
           definition="As the released code: the first node revisited that way, its number of maximal runs in "
                      "the walk minus 1.", source=TOR, check="walk [0,1,0,2,0] -> 2"),
    Metric("max_revisits", "max revisits", "most returns to any one cluster (the paper's text)", "cycles",
           "graph", "+", compare=True, top=True,
           definition="The largest number of returns to one node: max over nodes of (maximal runs - 1).",
           source=TOR, check="walk [0,1,0,1,2,1] -> 2"),
    Metric("n_revisits", "revisit events", "steps that re-enter an earlier cluster with another in between",
           "cycles", "graph", "+", compare=True, distribution=True, top=True, summary="revisits",
           definition="Revisit events: for each node, its maximal runs minus 1, summed over nodes.", source=TOR,
           check="walk [0,1,0,1,2,1] -> 3"),
)

#: The keys of ReasoningGraph.metrics this family reports, in row order (the others are :mod:`.topology`'s).
WALK_KEYS = ("n_steps", "n_nodes", "n_edges", "loop_exists", "loop_count", "max_revisits", "n_revisits")


def compute(ctx: TraceContext) -> dict:
    """The walk's counts (all steps, dropped ones included, in ``n_steps``)."""
    return {k: ctx.graph_metrics[k] for k in WALK_KEYS}


FAMILY = TraceMetrics("walk", ENTRIES, compute,
                      per_layer=("n_nodes", "loop_exists", "loop_count", "max_revisits", "n_revisits"))
