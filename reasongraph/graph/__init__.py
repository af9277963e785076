"""Layer 4: the reasoning graph. Step vectors are clustered into nodes (:mod:`reasongraph.graph.cluster`), the steps'
labels make a walk, the walk a directed graph with its revisits, cycles and shape.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "average_clustering": "reasongraph.graph.shape",
    "count_cycles_upto": "reasongraph.graph.cycles",
    "cyclomatic_number": "reasongraph.graph.cycles",
    "distance_summary": "reasongraph.graph.shape",
    "EDGE_WEIGHTS": "reasongraph.graph.walk",
    "mean_degree": "reasongraph.graph.shape",
    "MIN_NODES": "reasongraph.graph.visit_concentration",
    "random_graph_baselines": "reasongraph.graph.shape",
    "ReasoningGraph": "reasongraph.graph.reasoning_graph",
    "Revisit": "reasongraph.graph.walk",
    "revisit_cycle_edges": "reasongraph.graph.walk",
    "scc_share": "reasongraph.graph.cycles",
    "small_world_index": "reasongraph.graph.shape",
    "step_mean_entropy": "reasongraph.graph.walk",
    "topology_metrics": "reasongraph.graph.shape",
    "visit_counts": "reasongraph.graph.visit_concentration",
    "visit_decay": "reasongraph.graph.visit_concentration",
    "visit_gini": "reasongraph.graph.visit_concentration",
    "walk_runs": "reasongraph.graph.walk",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
