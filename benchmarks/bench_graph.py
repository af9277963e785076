"""Benchmark: ReasoningGraph.metrics() against a straightforward networkx implementation of the same metrics.

Workload (issue 3): a 200-step walk over 40 clusters with 64-d step vectors; goal <= 2 ms median for metrics().
The walk is a random walk with some stickiness (consecutive steps often stay in a cluster), like real traces.

    PYTHONPATH=. python benchmarks/bench_graph.py [--steps 200] [--clusters 40] [--dim 64] [--repeat 200]
"""
from __future__ import annotations

import argparse
import math
import time

import networkx as nx
import numpy as np

from reasongraph.graph.reasoning_graph import ReasoningGraph


def make_walk(n_steps: int, n_clusters: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    walk = rng.integers(0, n_clusters, n_steps)
    stay = rng.random(n_steps) < 0.2
    for i in range(1, n_steps):
        if stay[i]:
            walk[i] = walk[i - 1]
    centers = rng.normal(size=(n_clusters, dim)) * 3
    vectors = (centers[walk] + rng.normal(size=(n_steps, dim))).astype(np.float32)
    return walk, vectors


def networkx_metrics(g: nx.DiGraph, walk: np.ndarray, k: int = 5) -> dict:
    """The baseline: the same metrics written directly with networkx, as a first version would be."""
    kept = [int(x) for x in walk if x >= 0]
    runs = [a for i, a in enumerate(kept) if i == 0 or kept[i - 1] != a]
    n_runs = {v: runs.count(v) for v in set(runs)}
    first = next((a for i, a in enumerate(runs) if a in runs[:i]), None)
    n, e = g.number_of_nodes(), g.number_of_edges()
    cycles = sum(1 for _ in nx.simple_cycles(g, length_bound=k))
    sccs = [c for c in nx.strongly_connected_components(g) if len(c) > 1]

    def dist_stats(weight):
        d = [x for u, dm in nx.all_pairs_dijkstra_path_length(g, weight=weight) for v, x in dm.items() if v != u]
        return (max(d), sum(d) / len(d)) if d else (math.nan, math.nan)

    diam, pl = dist_stats("weight")
    diam_h, pl_h = dist_stats(None)
    u = nx.Graph(g)
    cl = nx.clustering(u)
    deg2 = [cl[v] for v in u if u.degree(v) >= 2]
    c = sum(deg2) / len(deg2) if deg2 else math.nan
    kmean = 2 * u.number_of_edges() / n
    c_rand = kmean / (n - 1)
    l_rand = math.log(n) / math.log(kmean) if kmean > 1 else math.nan
    return {
        "n_steps": len(walk), "n_nodes": n, "n_edges": e, "loop_exists": first is not None,
        "loop_count": n_runs[first] - 1 if first is not None else 0,
        "max_revisits": max(n_runs.values()) - 1, "n_revisits": len(runs) - len(n_runs),
        "cyclomatic": e - n + nx.number_weakly_connected_components(g),
        "scc_share": sum(len(s) for s in sccs) / n, "cycles_upto_k": cycles, "cycles_truncated": False,
        "diameter": diam, "diameter_hops": diam_h, "avg_clustering": c, "c_rand": c_rand,
        "path_length": pl, "path_length_hops": pl_h, "l_rand": l_rand,
        "small_world": (c / c_rand) / (pl / l_rand), "small_world_hops": (c / c_rand) / (pl_h / l_rand),
    }


def median_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--clusters", type=int, default=40)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()

    walk, vectors = make_walk(args.steps, args.clusters, args.dim)
    rg = ReasoningGraph.from_walk(walk, vectors)
    g = rg.to_networkx()
    ours, ref = rg.metrics(), networkx_metrics(g, walk)
    for key, val in ref.items():  # the two must agree before their speed means anything
        assert math.isclose(ours[key], val, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(ours[key]) and math.isnan(val)), (key, ours[key], val)

    t_ours = median_ms(rg.metrics, args.repeat)
    t_build = median_ms(lambda: ReasoningGraph.from_walk(walk, vectors), args.repeat)
    t_ref = median_ms(lambda: networkx_metrics(g, walk), max(10, args.repeat // 10))
    print(f"walk: {args.steps} steps, {rg.n_nodes} nodes, {rg.n_edges} edges, {args.dim}-d vectors; "
          f"{ours['cycles_upto_k']} cycles of <= 5 nodes")
    print(f"{'what':<38}{'median ms':>12}{'vs baseline':>14}")
    print(f"{'networkx baseline metrics':<38}{t_ref:>12.3f}{1.0:>13.2f}x")
    print(f"{'ReasoningGraph.metrics()':<38}{t_ours:>12.3f}{t_ref / t_ours:>13.2f}x")
    print(f"{'ReasoningGraph.from_walk() (build)':<38}{t_build:>12.3f}{'':>14}")
    print(f"goal metrics() <= 2 ms: {'met' if t_ours <= 2.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
