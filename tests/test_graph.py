"""ReasoningGraph and topology metrics: hand-made walks with known answers, and independent references
(a plain re-implementation of the paper's released loop code, networkx) on random walks and graphs."""
from __future__ import annotations

import json
import math
from collections import Counter

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from reasongraph.graph import cycles, shape
from reasongraph.graph.reasoning_graph import ReasoningGraph
from reasongraph.graph.walk import Revisit, walk_runs
from reasongraph.trace.steps import Step
from reasongraph.trace.trace import Trace

NAN = float("nan")
METRIC_KEYS = [
    "n_steps", "n_nodes", "n_edges", "loop_exists", "loop_count", "max_revisits", "n_revisits", "cyclomatic",
    "scc_share", "cycles_upto_k", "cycles_truncated", "diameter", "diameter_hops", "avg_clustering", "c_rand",
    "path_length", "path_length_hops", "l_rand", "small_world", "small_world_hops",
]


def same(a, b, tol=1e-9) -> bool:
    """Equal numbers, NaN equal to NaN."""
    if isinstance(a, float) and math.isnan(a) or isinstance(b, float) and math.isnan(b):
        return isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def assert_metrics(got: dict, want: dict) -> None:
    for key, value in want.items():
        assert same(got[key], value), f"{key}: got {got[key]!r}, want {value!r}"


def random_walk(rng, n_steps, n_clusters, p_stay=0.3, p_drop=0.0) -> np.ndarray:
    walk = rng.integers(0, n_clusters, n_steps)
    for i in range(1, n_steps):
        if rng.random() < p_stay:
            walk[i] = walk[i - 1]
    walk[rng.random(n_steps) < p_drop] = -1
    return walk


def csgraph(g: nx.DiGraph) -> sp.csr_array:
    return sp.csr_array(nx.to_scipy_sparse_array(g, nodelist=sorted(g), weight=None, format="csr"))


# ------------------------------------------------------------------------------------------- hand-made walks
def test_metrics_keys_and_types_are_flat_json():
    m = ReasoningGraph.from_walk([0, 1, 2, 1, 0]).metrics()
    assert list(m) == METRIC_KEYS
    for key, value in m.items():
        assert type(value) in (int, float, bool), (key, type(value))
    assert isinstance(m["loop_exists"], bool) and isinstance(m["cycles_truncated"], bool)


def test_back_and_forth_is_a_loop():
    m = ReasoningGraph.from_walk([0, 1, 0]).metrics()
    # two nodes of degree 1: no clustering; <k> = 1, so ln <k> = 0 and L_rand is undefined
    assert_metrics(m, dict(
        n_steps=3, n_nodes=2, n_edges=2, loop_exists=True, loop_count=1, max_revisits=1, n_revisits=1,
        cyclomatic=1, scc_share=1.0, cycles_upto_k=1, cycles_truncated=False, diameter=1.0, diameter_hops=1.0,
        avg_clustering=NAN, c_rand=1.0, path_length=1.0, path_length_hops=1.0, l_rand=NAN, small_world=NAN,
        small_world_hops=NAN))


def test_staying_in_a_cluster_is_no_loop():
    g = ReasoningGraph.from_walk([0, 0, 1])
    assert_metrics(g.metrics(), dict(
        n_steps=3, n_nodes=2, n_edges=1, loop_exists=False, loop_count=0, max_revisits=0, n_revisits=0,
        cyclomatic=0, scc_share=0.0, cycles_upto_k=0, diameter=1.0, diameter_hops=1.0, path_length=1.0,
        path_length_hops=1.0, c_rand=1.0, avg_clustering=NAN, l_rand=NAN))
    assert g.revisits() == []
    assert not g.to_networkx().has_edge(0, 0)  # no self-loops


def test_star_walk_every_metric_by_hand():
    # edges 0->1, 1->2, 2->1, 1->0, 0->3, 3->0: undirected a path 2-1-0-3, strongly connected
    g = ReasoningGraph.from_walk([0, 1, 2, 1, 0, 3, 0])
    hop_pairs = [1, 2, 1, 1, 1, 2, 2, 1, 3, 1, 2, 3]  # d(u, v) for the 12 ordered pairs
    assert_metrics(g.metrics(), dict(
        n_steps=7, n_nodes=4, n_edges=6, loop_exists=True,
        loop_count=1,  # the first revisit is node 1 at step 3; node 1 has 2 runs
        max_revisits=2,  # node 0 has 3 runs
        n_revisits=3, cyclomatic=6 - 4 + 1, scc_share=1.0, cycles_upto_k=3, cycles_truncated=False,
        diameter=3.0, diameter_hops=3.0, avg_clustering=0.0, c_rand=1.5 / 3,
        path_length=sum(hop_pairs) / 12, path_length_hops=sum(hop_pairs) / 12, l_rand=math.log(4) / math.log(1.5),
        small_world=0.0, small_world_hops=0.0))
    assert g.revisits() == [Revisit(3, 1, 2), Revisit(4, 0, 4), Revisit(6, 0, 2)]
    assert g.nodes == [0, 1, 2, 3]


def test_weighted_triangle_by_hand():
    # steps at the corners of a 3-4-5 right triangle, back to the start: edges 0->1 (3), 1->2 (4), 2->0 (5)
    vectors = np.array([[0, 0], [3, 0], [3, 4], [0, 0]], dtype=np.float32)
    g = ReasoningGraph.from_walk([7, 8, 9, 7], vectors)
    # shortest weighted paths: 0->1 3, 0->2 7, 1->2 4, 1->0 9, 2->0 5, 2->1 8 (the diameter is 9)
    l_rand = math.log(3) / math.log(2)
    assert_metrics(g.metrics(), dict(
        n_nodes=3, n_edges=3, loop_exists=True, loop_count=1, max_revisits=1, n_revisits=1, cyclomatic=1,
        scc_share=1.0, cycles_upto_k=1, diameter=9.0, diameter_hops=2.0, avg_clustering=1.0, c_rand=1.0,
        path_length=6.0, path_length_hops=1.5, l_rand=l_rand, small_world=1.0 / (6.0 / l_rand),
        small_world_hops=1.0 / (1.5 / l_rand)))
    assert g.metrics(length_bound=2)["cycles_upto_k"] == 0
    assert g.to_networkx().edges[9, 7]["weight"] == pytest.approx(5.0)


def test_repeated_edge_weight_is_the_released_codes_minimum_or_the_mean():
    vectors = np.array([[0.0], [1.0], [10.0], [13.0]])
    g = ReasoningGraph.from_walk([0, 1, 0, 1], vectors).to_networkx()  # transitions 0->1: 1 and 3
    assert g.edges[0, 1] == {"count": 2, "weight": 1.0, "min_weight": 1.0, "mean_weight": 2.0}
    assert g.edges[1, 0] == {"count": 1, "weight": 9.0, "min_weight": 9.0, "mean_weight": 9.0}
    mean = ReasoningGraph.from_walk([0, 1, 0, 1], vectors, edge_weight="mean")
    assert mean.to_networkx().edges[0, 1]["weight"] == 2.0
    # the paper's code keeps each transition as a parallel edge, so its Dijkstra takes the shortest: 0->1->0 = 10
    assert ReasoningGraph.from_walk([0, 1, 0, 1], vectors).metrics()["diameter"] == 9.0
    assert mean.metrics()["diameter"] == 9.0 and mean.metrics()["path_length"] == (2.0 + 9.0) / 2
    with pytest.raises(ValueError, match="edge_weight"):
        ReasoningGraph.from_walk([0, 1], edge_weight="max")
    assert dict(g.nodes[0]) == {"visits": 2, "steps": [0, 2], "runs": 2}


def test_weights_default_to_one_and_zero_weight_edges_are_kept():
    assert all(w == 1.0 for *_, w in ReasoningGraph.from_walk([0, 1, 2, 0]).to_networkx().edges(data="weight"))
    vectors = np.array([[1.0, 1.0], [1.0, 1.0], [4.0, 5.0]])  # steps 0 and 1 identical, in different clusters
    g = ReasoningGraph.from_walk([0, 1, 2], vectors)
    m = g.metrics()
    assert m["n_edges"] == 2 and g.adjacency.nnz == 2
    assert_metrics(m, dict(diameter=5.0, diameter_hops=2.0, path_length=(0.0 + 5.0 + 5.0) / 3))


def test_degenerate_walks():
    for walk in ([], [-1, -1]):
        m = ReasoningGraph.from_walk(walk).metrics()
        assert_metrics(m, dict(n_steps=len(walk), n_nodes=0, n_edges=0, loop_exists=False, loop_count=0,
                               max_revisits=0, n_revisits=0, cyclomatic=0, cycles_upto_k=0, scc_share=NAN,
                               diameter=NAN, avg_clustering=NAN, c_rand=NAN, small_world=NAN))
    m = ReasoningGraph.from_walk([5, 5, 5]).metrics()  # one node: no pairs, nothing to measure
    assert_metrics(m, dict(n_nodes=1, n_edges=0, loop_exists=False, cyclomatic=0, scc_share=0.0, diameter=NAN,
                           diameter_hops=NAN, path_length=NAN, avg_clustering=NAN, c_rand=NAN, l_rand=NAN,
                           small_world=NAN, small_world_hops=NAN))


# ------------------------------------------------------------------------------------------- dropped steps
def test_negative_labels_are_dropped_but_keep_step_indices():
    vectors = np.array([[0.0], [50.0], [2.0], [60.0], [70.0], [5.0]])
    spans = np.array([[0, 4], [4, 6], [6, 9], [9, 10], [10, 12], [12, 15]])
    g = ReasoningGraph.from_walk([0, -1, 1, -1, -1, 0], vectors, step_spans=spans)
    ref = ReasoningGraph.from_walk([0, 1, 0], vectors[[0, 2, 5]]).metrics()
    m = g.metrics()
    assert m["n_steps"] == 6 and {k: v for k, v in m.items() if k != "n_steps"} == pytest.approx(
        {k: v for k, v in ref.items() if k != "n_steps"}, nan_ok=True)
    assert g.revisits() == [Revisit(step=5, node=0, steps_since_last_visit=5, start_token=12, end_token=15)]
    nxg = g.to_networkx()
    assert -1 not in nxg
    assert nxg.edges[0, 1]["weight"] == 2.0 and nxg.edges[1, 0]["weight"] == 3.0  # steps 0->2, 2->5
    assert nxg.nodes[0]["steps"] == [0, 5] and nxg.nodes[1]["steps"] == [2]


def test_dropped_steps_do_not_split_a_run():
    g = ReasoningGraph.from_walk([0, -1, 0, 1])
    assert g.metrics()["loop_exists"] is False
    assert walk_runs([0, -1, 0, 1]) == [(0, 0, 2), (1, 3, 3)]
    assert g.to_networkx().nodes[0]["runs"] == 1


# ------------------------------------------------------------------------------------------- loop metrics
def released_loop_metrics(walk) -> dict:
    """The paper's released loop code (analyze_graph_v2), re-written plainly, plus the science.md counts."""
    path = [int(x) for x in walk if x >= 0]
    seen, entry = {}, None
    for idx, node in enumerate(path):
        if node in seen and idx - seen[node] > 1:
            entry = node
            break
        seen[node] = idx
    entries = Counter(node for i, node in enumerate(path) if i == 0 or path[i - 1] != node)
    return {
        "loop_exists": entry is not None,
        "loop_count": entries[entry] - 1 if entry is not None else 0,
        "max_revisits": max(entries.values(), default=1) - 1,
        "n_revisits": sum(c - 1 for c in entries.values()),
    }


def plain_revisits(walk) -> list[Revisit]:
    events, last_visit, prev = [], {}, None
    for step, node in enumerate(int(x) for x in walk):
        if node < 0:
            continue
        if node in last_visit and prev != node:
            events.append(Revisit(step, node, step - last_visit[node]))
        last_visit[node], prev = step, node
    return events


def test_loop_metrics_match_released_code_on_random_walks():
    rng = np.random.default_rng(0)
    for _ in range(1000):
        walk = random_walk(rng, int(rng.integers(0, 40)), int(rng.integers(1, 8)), p_stay=0.3,
                           p_drop=float(rng.choice([0.0, 0.15])))
        g = ReasoningGraph.from_walk(walk)
        m = g.metrics()
        want = released_loop_metrics(walk)
        assert {k: m[k] for k in want} == want, walk
        assert g.revisits() == plain_revisits(walk), walk
        assert len(g.revisits()) == m["n_revisits"]


# ------------------------------------------------------------------------------------------- cycles
def random_digraph(rng, n, p, self_loops=False) -> nx.DiGraph:
    a = rng.random((n, n)) < p
    if not self_loops:
        np.fill_diagonal(a, False)
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(*np.nonzero(a)))
    return nx.relabel_nodes(g, int)


def nx_cycles(g, k) -> int:
    return sum(1 for _ in nx.simple_cycles(g, length_bound=k))


def test_cycles_upto_k_match_networkx_on_random_graphs():
    rng = np.random.default_rng(1)
    for trial in range(150):
        g = random_digraph(rng, int(rng.integers(1, 10)), float(rng.uniform(0.05, 0.7)),
                           self_loops=trial % 3 == 0)  # self-loops send the count down the search path
        for k in (1, 2, 3, 4, 5, 6):  # k = 6 also takes the search path
            assert cycles.count_cycles_upto(csgraph(g), length_bound=k) == (nx_cycles(g, k), False), (trial, k)


def test_cycles_upto_k_of_walk_graphs_match_networkx():
    rng = np.random.default_rng(2)
    for _ in range(30):
        g = ReasoningGraph.from_walk(random_walk(rng, 80, int(rng.integers(3, 15))))
        for k in (2, 5, 7):
            assert g.metrics(length_bound=k)["cycles_upto_k"] == nx_cycles(g.to_networkx(), k)


def test_closed_walk_and_search_counts_agree_on_a_larger_graph():
    g = random_digraph(np.random.default_rng(3), 30, 0.15)
    a = csgraph(g)
    want = nx_cycles(g, 5)
    assert cycles._cycles_by_closed_walks(cycles.dense_pattern(a), 5) == want
    assert cycles._cycles_by_search(a, 5, 10**9) == want


def test_cycle_count_is_capped_and_flagged():
    complete = csgraph(nx.complete_graph(8, create_using=nx.DiGraph))
    n5 = nx_cycles(nx.complete_graph(8, create_using=nx.DiGraph), 5)
    assert cycles.count_cycles_upto(complete, length_bound=5, max_cycles=50) == (50, True)  # closed-walk path
    assert cycles.count_cycles_upto(complete, length_bound=6, max_cycles=50) == (50, True)  # search path
    assert cycles.count_cycles_upto(complete, length_bound=5, max_cycles=n5) == (n5, False)  # exactly at the cap
    # 200 steps over 10 clusters hold far more cycles than the cap: the bounded search still returns at once
    walk = random_walk(np.random.default_rng(4), 200, 10, p_stay=0.0)
    m = ReasoningGraph.from_walk(walk).metrics(length_bound=10, max_cycles=1000)
    assert m["cycles_upto_k"] == 1000 and m["cycles_truncated"] is True


def test_cycle_arguments_are_validated():
    a = csgraph(nx.DiGraph([(0, 1), (1, 0)]))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="length_bound must be"):
            cycles.count_cycles_upto(a, length_bound=bad)
    with pytest.raises(ValueError, match="max_cycles"):
        cycles.count_cycles_upto(a, length_bound=5, max_cycles=0)
    with pytest.raises(ValueError, match="square scipy sparse"):
        cycles.count_cycles_upto(np.zeros((2, 2)))


# ------------------------------------------------------------------------------------------- topology vs networkx
def networkx_reference(g: nx.DiGraph) -> dict:
    def stats(weight):
        d = [x for u, row in nx.all_pairs_dijkstra_path_length(g, weight=weight) for v, x in row.items() if v != u]
        return (max(d), sum(d) / len(d)) if d else (NAN, NAN)

    u = nx.Graph(g)
    u.remove_edges_from(nx.selfloop_edges(u))
    clustering = nx.clustering(u)
    deg2 = [clustering[v] for v in u if u.degree(v) >= 2]
    n = g.number_of_nodes()
    k_mean = 2 * u.number_of_edges() / n
    (diameter, path_length), (diameter_hops, path_length_hops) = stats("weight"), stats(None)
    sccs = [c for c in nx.strongly_connected_components(g) if len(c) > 1]
    return dict(
        cyclomatic=g.number_of_edges() - n + nx.number_weakly_connected_components(g),
        scc_share=sum(map(len, sccs)) / n, diameter=diameter, path_length=path_length,
        diameter_hops=diameter_hops, path_length_hops=path_length_hops,
        avg_clustering=sum(deg2) / len(deg2) if deg2 else NAN, c_rand=k_mean / (n - 1),
        l_rand=math.log(n) / math.log(k_mean) if k_mean > 1 else NAN)


@pytest.mark.parametrize("n_steps,n_clusters,n_walks", [(30, 6, 40), (200, 40, 10), (400, 100, 2)])
def test_topology_metrics_match_networkx(n_steps, n_clusters, n_walks):
    # 100 clusters takes the Dijkstra path, fewer the Floyd-Warshall one
    rng = np.random.default_rng(n_steps)
    for _ in range(n_walks):
        walk = random_walk(rng, n_steps, n_clusters, p_drop=0.05)
        g = ReasoningGraph.from_walk(walk, rng.normal(size=(n_steps, 16)))
        m = g.metrics()
        want = networkx_reference(g.to_networkx())
        assert_metrics(m, want)
        assert same(m["small_world"], shape.small_world_index(
            want["avg_clustering"], want["c_rand"], want["path_length"], want["l_rand"]))


def test_topology_functions_match_networkx_on_general_digraphs():
    rng = np.random.default_rng(5)
    for trial in range(60):
        g = random_digraph(rng, int(rng.integers(2, 12)), float(rng.uniform(0.05, 0.5)))
        if g.number_of_edges() == 0:
            continue
        for u, v in g.edges:
            g.edges[u, v]["weight"] = float(rng.uniform(0.0, 3.0))
        a = sp.csr_array(nx.to_scipy_sparse_array(g, nodelist=range(len(g)), weight="weight", format="csr"))
        want = networkx_reference(g)
        assert cycles.cyclomatic_number(a) == want["cyclomatic"]
        assert same(cycles.scc_share(a), want["scc_share"])
        assert same(shape.distance_summary(a)[0], want["diameter"])
        assert same(shape.distance_summary(a, unweighted=True)[1], want["path_length_hops"])
        assert same(shape.average_clustering(a), want["avg_clustering"])
        got = shape.topology_metrics(a)
        assert same(got["scc_share"], want["scc_share"]) and same(got["l_rand"], want["l_rand"])


def test_sparse_clustering_path_matches_networkx():
    g = random_digraph(np.random.default_rng(6), cycles.DENSE_MAX_NODES + 20, 0.01)
    a = csgraph(g)
    u = nx.Graph(g)
    clustering = nx.clustering(u)
    deg2 = [clustering[v] for v in u if u.degree(v) >= 2]
    assert shape.average_clustering(a) == pytest.approx(sum(deg2) / len(deg2))
    assert shape.mean_degree(a) == pytest.approx(2 * u.number_of_edges() / len(u))
    # large graphs take the search path; the closed-walk formulas (checked against networkx above) agree
    assert cycles.count_cycles_upto(a, length_bound=5)[0] == cycles._cycles_by_closed_walks(cycles.dense_pattern(a), 5)


def test_small_world_baselines():
    assert shape.random_graph_baselines(5, 2.0) == pytest.approx((0.5, math.log(5) / math.log(2)))
    c_rand, l_rand = shape.random_graph_baselines(4, 1.0)
    assert c_rand == pytest.approx(1 / 3) and math.isnan(l_rand)
    assert all(math.isnan(x) for x in shape.random_graph_baselines(1, 0.0))
    assert shape.small_world_index(0.5, 0.25, 2.0, 4.0) == pytest.approx(4.0)
    assert math.isnan(shape.small_world_index(0.5, 0.25, 0.0, 4.0))
    assert math.isnan(shape.small_world_index(NAN, 0.25, 2.0, 4.0))


# ------------------------------------------------------------------------------------------- export
def test_metrics_and_node_link_json_round_trip(tmp_path):
    rng = np.random.default_rng(7)
    entropy = rng.random(60)
    entropy[3] = NAN
    g = ReasoningGraph.from_walk(random_walk(rng, 60, 8, p_drop=0.1), rng.normal(size=(60, 4)), entropy)
    m = g.metrics()
    back = json.loads(json.dumps(m))
    assert back.keys() == m.keys() and all(same(back[k], m[k]) for k in m)

    data = json.loads(g.to_json())
    assert "edges" in data
    h = nx.node_link_graph(data, edges="edges")
    ref = g.to_networkx()
    assert nx.utils.graphs_equal(h, ref)


def test_graphml_round_trip(tmp_path):
    rng = np.random.default_rng(8)
    walk = random_walk(rng, 50, 6)
    g = ReasoningGraph.from_walk(walk, rng.normal(size=(50, 3)), rng.random(50))
    path = g.write_graphml(tmp_path / "g.graphml")
    h = nx.read_graphml(path, node_type=int)
    ref = g.to_networkx()
    assert set(h.nodes) == set(ref.nodes) and set(h.edges) == set(ref.edges)
    for v, attrs in ref.nodes(data=True):
        assert [int(s) for s in h.nodes[v]["steps"].split(",")] == attrs["steps"]
        assert h.nodes[v]["visits"] == attrs["visits"] and h.nodes[v]["runs"] == attrs["runs"]
        assert h.nodes[v]["mean_entropy"] == pytest.approx(attrs["mean_entropy"])
    for u, v, attrs in ref.edges(data=True):
        assert h.edges[u, v]["weight"] == pytest.approx(attrs["weight"])
        assert h.edges[u, v]["count"] == attrs["count"]


def test_to_networkx_is_a_copy():
    g = ReasoningGraph.from_walk([0, 1, 0])
    g.to_networkx().add_edge(5, 6)
    assert g.to_networkx().number_of_nodes() == 2


# ------------------------------------------------------------------------------------------- from a Trace
def make_trace() -> Trace:
    # 4 steps over 10 tokens; step vectors are the means of their tokens' hidden states
    spans = [(0, 2), (2, 5), (5, 7), (7, 10)]
    text = "".join(f"step {i}\n" for i in range(4))
    steps = [Step(a, b, 7 * i, 7 * i + 6, f"step {i}") for i, (a, b) in enumerate(spans)]
    hidden = np.arange(20, dtype=np.float32).reshape(10, 2)
    entropy = np.array([NAN, 1.0, 0.5, 0.5, 2.0, 0.1, 0.3, 1.0, 1.0, 1.0])
    return Trace(text=text, prompt=None, input_ids=np.arange(10), prompt_len=0, tokens=["t"] * 10,
                 offsets=np.zeros((10, 2), dtype=np.int64), entropy=entropy, logprob=np.zeros(10),
                 hidden={3: hidden}, steps=steps, layers=(3,))


def test_from_trace_uses_step_vectors_entropy_and_spans():
    tr = make_trace()
    g = ReasoningGraph.from_trace(tr, [0, 1, 0, 2])
    assert np.array_equal(g.vectors, tr.step_vectors(3))
    assert g.step_entropy == pytest.approx([1.0, 1.0, 0.2, 1.0])  # step 0 ignores its NaN token
    assert g.revisits() == [Revisit(step=2, node=0, steps_since_last_visit=2, start_token=5, end_token=7)]
    nxg = g.to_networkx()
    assert nxg.nodes[0]["mean_entropy"] == pytest.approx(0.6)
    v = tr.step_vectors(3).astype(np.float64)
    assert nxg.edges[0, 1]["weight"] == pytest.approx(np.linalg.norm(v[1] - v[0]))
    with pytest.raises(ValueError, match="one cluster id per step"):
        ReasoningGraph.from_trace(tr, [0, 1, 0])


def test_mean_entropy_is_nan_aware():
    g = ReasoningGraph.from_walk([0, 1, 0, 2], step_entropy=[NAN, 1.0, 3.0, NAN]).to_networkx()
    assert g.nodes[0]["mean_entropy"] == 3.0 and g.nodes[1]["mean_entropy"] == 1.0
    assert math.isnan(g.nodes[2]["mean_entropy"])


# ------------------------------------------------------------------------------------------- validation
def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="1-D"):
        ReasoningGraph.from_walk([[0, 1]])
    with pytest.raises(ValueError, match="integer cluster ids"):
        ReasoningGraph.from_walk([0, 1.5])
    with pytest.raises(ValueError, match=r"vectors must have shape \(3, d\)"):
        ReasoningGraph.from_walk([0, 1, 0], np.zeros((2, 4)))
    with pytest.raises(ValueError, match="finite"):
        ReasoningGraph.from_walk([0, 1], np.array([[0.0], [NAN]]))
    with pytest.raises(ValueError, match="step_spans must have shape"):
        ReasoningGraph.from_walk([0, 1], step_spans=[0, 1])
    with pytest.raises(ValueError, match="integer token indices"):
        ReasoningGraph.from_walk([0, 1], step_spans=[[0.0, 1.0], [1.0, 2.0]])
    # a dropped step may carry a NaN vector: it is never used
    assert ReasoningGraph.from_walk([0, -1, 1], np.array([[0.0], [NAN], [1.0]])).n_edges == 1
    assert ReasoningGraph.from_walk(np.array([0.0, 1.0, 0.0])).metrics()["loop_exists"] is True
