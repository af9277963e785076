"""A deterministic 2-D layout of a reasoning graph, computed in Python so the page needs no layout library.

The same graph always gets the same picture (seeded force-directed layout on a canonical node order), which
matters for a figure in a paper's supplement and for tests that compare pages.
"""
from __future__ import annotations

import math

import networkx as nx
import numpy as np

from reasongraph.core.options import SEED

__all__ = ["graph_layout"]


def graph_layout(graph: nx.Graph, *, seed: int = SEED.default, iterations: int = 300) -> dict:
    """Positions in the unit square for every node of ``graph``.

    A Fruchterman-Reingold layout (``networkx.spring_layout``, ``method="force"``) of the undirected simple
    graph, started from a circle in node order so the result depends only on the graph and ``seed``. The
    drawing is then turned so its longest extent is horizontal, with the walk's first node on the left, and
    scaled into [0, 1] x [0, 1] (the short axis stretched at most twice as much as the long one).

    Parameters
    ----------
    graph : a networkx graph (directed or not); self-loops are ignored.
    seed : seed of the layout.
    iterations : force-directed iterations.

    Returns
    -------
    dict mapping each node to an ``(x, y)`` tuple of floats in [0, 1] (rounded to 4 decimals).
    """
    nodes = list(graph.nodes)
    if not nodes:
        return {}
    if len(nodes) == 1:
        return {nodes[0]: (0.5, 0.5)}
    und = nx.Graph()
    und.add_nodes_from(nodes)
    und.add_edges_from((u, v) for u, v in graph.edges if u != v)
    n = len(nodes)
    start = {node: (math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n)) for i, node in enumerate(nodes)}
    # Unweighted springs with an ideal edge length above networkx's 1/sqrt(n): counts would pull busy nodes
    # into a knot; a walk graph reads best when every transition has about the same length.
    pos = nx.spring_layout(und, pos=start, k=2.0 / math.sqrt(n), iterations=iterations, weight=None, seed=seed,
                           method="force")
    return _unit_square(nodes, np.array([pos[node] for node in nodes], dtype=np.float64))


def _unit_square(nodes: list, xy: np.ndarray, max_stretch: float = 2.0) -> dict:
    """Fit points into [0, 1]^2: principal axis horizontal, first node on the left, centred.

    The short axis may be stretched up to ``max_stretch`` times more than the long one, so a chain-like graph
    uses more of the square panel than a thin line, without distorting compact layouts much.
    """
    xy = xy - xy.mean(axis=0)
    _, _, vt = np.linalg.svd(xy, full_matrices=False)
    xy = xy @ vt.T
    xy[:, xy[0] > 0] *= -1  # the walk's first node sits left and up: the same picture for the same graph
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = hi - lo
    if not np.all(np.isfinite(span)) or span.max() <= 0:
        return {node: (0.5, 0.5) for node in nodes}
    scale = np.minimum(1.0 / np.maximum(span, 1e-12), max_stretch / span.max())
    scaled = (xy - lo) * scale
    scaled += (1.0 - scaled.max(axis=0)) / 2  # centre the shorter axis
    return {node: (round(float(x), 4), round(float(y), 4)) for node, (x, y) in zip(nodes, scaled)}
