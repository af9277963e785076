"""Cycle and topology metrics of a directed graph held as a scipy sparse adjacency matrix.

These are the graph-level measurements of the Topology of Reasoning paper (Minegishi et al. 2025) plus a few
standard ones (cyclomatic number, share of nodes on cycles, bounded cycle counts). Each is a plain function over
a *csgraph*: an ``(n, n)`` scipy sparse matrix whose stored entries are the directed edges and whose values are
the edge weights, the convention of :mod:`scipy.sparse.csgraph`. Stored zeros are edges of weight 0 (two
identical consecutive step vectors in different clusters), so callers must not ``eliminate_zeros()``.

Why a csgraph and not a networkx graph: :meth:`reasongraph.ReasoningGraph.metrics` runs once per trace over
datasets of thousands of traces, and scipy's Dijkstra and numpy's matrix products are about 10x faster than the
pure-Python networkx equivalents on graphs of a few dozen nodes. :func:`topology_metrics` computes them all at
once and shares the intermediate matrices. The tests check every function against networkx.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from reasongraph.core.checks import check_int

__all__ = ["LENGTH_BOUND", "count_cycles_upto", "cyclomatic_number", "scc_share"]


# Up to this many nodes, dense n x n matrices are used (cycle counts by closed walks, clustering); their products
# stay exact in float64 (closed 5-walks <= n**5 < 2**53) and fast. Larger graphs take the sparse/DFS paths.
DENSE_MAX_NODES = 512
#: The longest cycle (in nodes) counted by default: cycles_upto_k (the default of AnalysisOptions.length_bound).
LENGTH_BOUND = 5


def as_csgraph(adj) -> sp.csr_array:
    if not sp.issparse(adj) or adj.ndim != 2 or adj.shape[0] != adj.shape[1]:
        raise ValueError(f"expected a square scipy sparse adjacency matrix, got {type(adj).__name__} "
                         f"of shape {getattr(adj, 'shape', None)}")
    if isinstance(adj, sp.csr_array) and adj.has_canonical_format:
        return adj
    out = sp.csr_array(adj)
    out.sum_duplicates()
    return out


def dense_pattern(adj: sp.csr_array) -> np.ndarray:
    """0/1 float matrix of the stored entries (zero-weight edges included)."""
    n = adj.shape[0]
    a = np.zeros((n, n))
    a[np.repeat(np.arange(n), np.diff(adj.indptr)), adj.indices] = 1.0
    return a


# ---------------------------------------------------------------------------------------------------- cycles
def cyclomatic_number(adj) -> int:
    """Cyclomatic number E - V + C, with C the number of weakly connected components.

    The number of independent cycles of the underlying undirected multigraph (its first Betti number): how many
    edges could be removed before the graph becomes a forest. Antiparallel edges A->B and B->A count as two
    edges, so a back-and-forth A->B->A contributes 1. 0 for an empty graph.
    """
    adj = as_csgraph(adj)
    n = adj.shape[0]
    if n == 0:
        return 0
    n_comp, _ = connected_components(adj, directed=True, connection="weak")
    return int(adj.nnz - n + n_comp)


def scc_share(adj) -> float:
    """Share of nodes that lie in a strongly connected component of more than one node.

    These are the nodes on some directed cycle of length >= 2: states the walk could leave and come back to.
    NaN for an empty graph (no nodes to take a share of).
    """
    adj = as_csgraph(adj)
    if adj.shape[0] == 0:
        return float("nan")
    _, labels = connected_components(adj, directed=True, connection="strong")
    sizes = np.bincount(labels)
    return float(np.mean(sizes[labels] > 1))


def count_cycles_upto(adj, *, length_bound: int = LENGTH_BOUND, max_cycles: int = 100_000) -> tuple[int, bool]:
    """Count the simple directed cycles with at most ``length_bound`` nodes (k), capped at ``max_cycles``.

    Enumerating all simple cycles is exponential (a 10-node graph from a 200-step walk can hold over 160,000),
    so only cycles of length <= k count: A->B->A has length 2; a self-loop, length 1, counts too, as in
    ``networkx.simple_cycles(G, length_bound=k)``.

    Two exact methods, same answer (the tests check both against networkx):

    - k <= 5, no self-loops, at most 512 nodes: closed-walk counting with matrix products. A closed walk of
      length L <= 5 is a simple cycle unless it revisits a vertex, and the revisiting walks decompose into
      2-cycles and shorter closed walks, so by inclusion-exclusion (S = A o A^T, d = row sums of S)
      L=2: tr(A^2) / 2; L=3: tr(A^3) / 3; L=4: (tr(A^4) - 2 sum d^2 + sum d) / 4;
      L=5: (tr(A^5) - 5 sum_i d_i (A^3)_ii + 5 sum(S o (A^2)^T)) / 5. O(n^3) and no enumeration at all.
    - otherwise a bounded depth-first search that finds each cycle once, from its lowest-index node s, over
      nodes above s only (as in Johnson's algorithm), pruned by the hop distance back to s: a path that cannot
      close within k nodes is never extended. It stops after ``max_cycles + 1`` cycles.

    Returns
    -------
    (count, truncated) : ``count`` = min(number of cycles, max_cycles); ``truncated`` is True when there are
    more than ``max_cycles`` cycles (the count is then a lower bound).
    """
    check_int("length_bound", length_bound, low=1)
    check_int("max_cycles", max_cycles, low=1)
    adj = as_csgraph(adj)
    n = adj.shape[0]
    has_self_loops = bool(np.any(adj.indices == np.repeat(np.arange(n), np.diff(adj.indptr))))
    if length_bound <= 5 and not has_self_loops and n <= DENSE_MAX_NODES:
        total = _cycles_by_closed_walks(dense_pattern(adj), length_bound)
    else:
        total = _cycles_by_search(adj, int(length_bound), int(max_cycles) + 1)
    return min(total, int(max_cycles)), total > max_cycles


def _cycles_by_closed_walks(a: np.ndarray, k: int) -> int:
    """Simple cycles of length 2..min(k, 5) of a 0/1 matrix without self-loops (formulas above)."""
    if k < 2 or a.shape[0] < 2:
        return 0
    s = a * a.T
    d = s.sum(axis=1)
    total = s.sum() / 2
    if k >= 3:
        a2 = a @ a
        a3 = a2 @ a
        total += np.trace(a3) / 3
    if k >= 4:
        total += ((a2 * a2.T).sum() - 2 * (d * d).sum() + d.sum()) / 4
    if k >= 5:
        total += ((a3 * a2.T).sum() - 5 * (d * np.diag(a3)).sum() + 5 * (s * a2.T).sum()) / 5
    return int(round(total))


def _cycles_by_search(adj: sp.csr_array, k: int, stop_at: int) -> int:
    """Simple cycles of length <= k by bounded DFS, stopping once ``stop_at`` are found."""
    n = adj.shape[0]
    indptr, indices = adj.indptr.tolist(), adj.indices.tolist()
    succ = [indices[indptr[i]:indptr[i + 1]] for i in range(n)]
    adj_t = sp.csr_array(adj.T)
    indptr_t, indices_t = adj_t.indptr.tolist(), adj_t.indices.tolist()
    pred = [indices_t[indptr_t[i]:indptr_t[i + 1]] for i in range(n)]
    total = 0
    for s in range(n):
        total += _cycles_from(s, succ, pred, k, stop_at - total)
        if total >= stop_at:
            break
    return total


def _cycles_from(s: int, succ: list[list[int]], pred: list[list[int]], k: int, budget: int) -> int:
    """Number of cycles (at most ``budget``) of length <= k whose lowest node is ``s``."""
    found = 1 if s in succ[s] else 0
    # back[v]: hops from v to s over nodes above s, searched only as deep as a cycle of length k can use.
    back = {s: 0}
    frontier = [s]
    for depth in range(1, k):
        nxt = []
        for v in frontier:
            for u in pred[v]:
                if u > s and u not in back:
                    back[u] = depth
                    nxt.append(u)
        if not nxt:
            break
        frontier = nxt
    if len(back) == 1:
        return min(found, budget)
    on_path = {s}
    # Iterative DFS; a frame is (node, number of nodes on the path up to it, iterator over its successors).
    stack = [(s, 1, iter(succ[s]))]
    while stack:
        v, n_path, it = stack[-1]
        for w in it:
            if w == s:
                if v != s:  # the self-loop at s was counted above
                    found += 1
                    if found >= budget:
                        return found
            elif w in back and w not in on_path and n_path + back[w] <= k:
                on_path.add(w)
                stack.append((w, n_path + 1, iter(succ[w])))
                break
        else:
            stack.pop()
            on_path.discard(v)
    return found
