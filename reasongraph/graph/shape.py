"""Distances, clustering and small-world indices of a directed graph held as a scipy sparse matrix, and
:func:`topology_metrics`, all of them at once."""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra, floyd_warshall

from reasongraph.graph.cycles import (DENSE_MAX_NODES, LENGTH_BOUND, as_csgraph, count_cycles_upto, cyclomatic_number,
                                      dense_pattern)

__all__ = ["average_clustering", "distance_summary", "mean_degree", "random_graph_baselines", "small_world_index",
           "topology_metrics"]


# All-pairs shortest paths: Floyd-Warshall (O(n^3), little overhead) is faster than n Dijkstras up to about here.
_FLOYD_WARSHALL_MAX_NODES = 64


# ---------------------------------------------------------------------------------------------------- paths
def distance_summary(adj, *, unweighted: bool = False) -> tuple[float, float]:
    """Diameter and mean shortest-path length over reachable ordered pairs (directed).

    Shortest paths follow edge directions (Dijkstra on the edge weights, or hop counts when ``unweighted``).
    Pairs (u, v) with u != v and no path from u to v are ignored, as in the paper: a walk graph is rarely
    strongly connected, and networkx's ``diameter`` / ``average_shortest_path_length`` would refuse it.

    Returns
    -------
    (diameter, mean) : the longest and the mean finite shortest-path length; both NaN when no ordered pair of
    distinct nodes is connected (e.g. fewer than two nodes): there is no path to measure.
    """
    adj = as_csgraph(adj)
    return _distance_stats(_shortest_paths(adj, unweighted))


def _shortest_paths(adj: sp.csr_array, unweighted: bool) -> np.ndarray:
    if adj.shape[0] == 0:
        return np.zeros((0, 0))
    if not unweighted and adj.nnz and adj.data.min() < 0:
        raise ValueError("edge weights must be non-negative for Dijkstra")
    if adj.shape[0] <= _FLOYD_WARSHALL_MAX_NODES:  # same distances; less overhead on small graphs
        return floyd_warshall(adj, directed=True, unweighted=unweighted)
    return dijkstra(adj, directed=True, unweighted=unweighted)


def _distance_stats(dist: np.ndarray) -> tuple[float, float]:
    off = ~np.eye(dist.shape[0], dtype=bool)
    finite = dist[off & np.isfinite(dist)]
    if finite.size == 0:
        return float("nan"), float("nan")
    return float(finite.max()), float(finite.mean())


# ---------------------------------------------------------------------------------------------------- clustering
def _undirected(adj: sp.csr_array) -> np.ndarray | sp.csr_array:
    """0/1 adjacency of the undirected simple graph (no self-loops, antiparallel edges merged)."""
    n = adj.shape[0]
    if n <= DENSE_MAX_NODES:
        a = dense_pattern(adj)
        u = np.maximum(a, a.T)
        np.fill_diagonal(u, 0.0)
        return u
    pattern = sp.csr_array((np.ones(adj.nnz), adj.indices, adj.indptr), shape=adj.shape)
    u = ((pattern + pattern.T) > 0).astype(np.float64)
    u.setdiag(0)
    u.eliminate_zeros()
    return sp.csr_array(u)


def mean_degree(adj) -> float:
    """Mean degree <k> = 2 E_u / N of the undirected simple graph (E_u its edges). NaN for an empty graph."""
    adj = as_csgraph(adj)
    if adj.shape[0] == 0:
        return float("nan")
    return float(_undirected(adj).sum() / adj.shape[0])


def average_clustering(adj) -> float:
    """Average local clustering coefficient over the nodes of degree >= 2, on the undirected simple graph.

    Local clustering c_i = 2 T_i / (k_i (k_i - 1)), with T_i the triangles through node i and k_i its degree.
    Nodes of degree < 2 are left out of the average rather than counted as 0 (the paper's choice; networkx's
    ``average_clustering`` counts them as 0). NaN when no node has degree >= 2 (no triangle is possible); the
    paper's code returns 0 there.
    """
    adj = as_csgraph(adj)
    if adj.shape[0] == 0:
        return float("nan")
    return _clustering(_undirected(adj))


def _clustering(u: np.ndarray | sp.csr_array) -> float:
    if sp.issparse(u):
        deg = np.asarray(u.sum(axis=1)).ravel()
        tri2 = np.asarray((u @ u).multiply(u).sum(axis=1)).ravel()
    else:
        deg = u.sum(axis=1)
        tri2 = ((u @ u) * u).sum(axis=1)  # 2 T_i: each triangle through i is seen in both directions
    ok = deg >= 2
    if not ok.any():
        return float("nan")
    return float(np.mean(tri2[ok] / (deg[ok] * (deg[ok] - 1))))


# ---------------------------------------------------------------------------------------------------- small world
def random_graph_baselines(n_nodes: int, k_mean: float) -> tuple[float, float]:
    """Clustering and path length of an Erdos-Renyi graph with the same size and mean degree.

    C_rand = <k> / (N - 1) and L_rand = ln N / ln <k>, the standard small-world baselines.

    Returns
    -------
    (c_rand, l_rand) : c_rand is NaN for N < 2 (no pairs); l_rand is NaN when N < 2 or <k> <= 1, where the
    approximation means nothing (ln <k> <= 0: a random graph that sparse has no giant component).
    """
    if n_nodes < 2 or not math.isfinite(k_mean):
        return float("nan"), float("nan")
    c_rand = k_mean / (n_nodes - 1)
    l_rand = math.log(n_nodes) / math.log(k_mean) if k_mean > 1 else float("nan")
    return float(c_rand), float(l_rand)


def small_world_index(c: float, c_rand: float, l: float, l_rand: float) -> float:
    """Small-world index S = (C / C_rand) / (L / L_rand).

    NaN when any input is NaN or a ratio would divide by zero (C_rand = 0, L = 0 or L_rand = 0): there is then
    no baseline to compare with. S = 0 when C = 0 (no triangles).
    """
    if not all(math.isfinite(v) for v in (c, c_rand, l, l_rand)) or 0 in (c_rand, l, l_rand):
        return float("nan")
    return float((c / c_rand) / (l / l_rand))


# ---------------------------------------------------------------------------------------------------- all at once
def topology_metrics(adj, *, length_bound: int = LENGTH_BOUND, max_cycles: int = 100_000) -> dict:
    """Every metric of this module in one pass, sharing the intermediate matrices.

    Returns a dict with ``cyclomatic``, ``scc_share``, ``cycles_upto_k``, ``cycles_truncated``, ``diameter``,
    ``diameter_hops``, ``avg_clustering``, ``c_rand``, ``path_length``, ``path_length_hops``, ``l_rand``,
    ``small_world`` (weighted L) and ``small_world_hops`` (hop L), each as the function of the same name
    defines it (NaN where undefined).
    """
    adj = as_csgraph(adj)
    n = adj.shape[0]
    n_cycles, truncated = count_cycles_upto(adj, length_bound=length_bound, max_cycles=max_cycles)
    hops = _shortest_paths(adj, unweighted=True)
    diameter, path_length = _distance_stats(_shortest_paths(adj, unweighted=False))
    diameter_hops, path_length_hops = _distance_stats(hops)
    # Strongly connected pairs reach each other both ways, so SCC sizes come free from the hop matrix.
    reach = np.isfinite(hops)
    scc = float(np.mean((reach & reach.T).sum(axis=1) > 1)) if n else float("nan")
    u = _undirected(adj)
    clustering = _clustering(u) if n else float("nan")
    c_rand, l_rand = random_graph_baselines(n, float(u.sum() / n) if n else float("nan"))
    return {
        "cyclomatic": cyclomatic_number(adj),
        "scc_share": scc,
        "cycles_upto_k": n_cycles,
        "cycles_truncated": truncated,
        "diameter": diameter,
        "diameter_hops": diameter_hops,
        "avg_clustering": clustering,
        "c_rand": c_rand,
        "path_length": path_length,
        "path_length_hops": path_length_hops,
        "l_rand": l_rand,
        "small_world": small_world_index(clustering, c_rand, path_length, l_rand),
        "small_world_hops": small_world_index(clustering, c_rand, path_length_hops, l_rand),
    }
