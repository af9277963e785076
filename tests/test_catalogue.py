"""The metric catalogue is the one list of metrics: docs/metrics.md is generated from it, everything it lists is
produced, and its check values hold for the code."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reasongraph.analysis import catalogue
from reasongraph.core import metric
from reasongraph.trace.hidden.effective_rank import effective_rank, effective_rank_from_singular_values
from reasongraph.trace.hidden.rank_dynamics import erank_velocity
from reasongraph.graph.reasoning_graph import ReasoningGraph
from reasongraph.trace.token_signals import entropy_of
from reasongraph.analysis.synthetic import synthetic_analysis

DOCS = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
ROW_ONLY = {"forking_share_pooled", "forking_share_ref"}  # pooled over a run, added by score / compare


def test_docs_are_generated_from_the_catalogue():
    assert DOCS.read_text(encoding="utf-8") == catalogue.markdown(), \
        "docs/metrics.md is stale: python -m reasongraph.analysis.catalogue > docs/metrics.md"


def test_every_catalogued_metric_is_produced_and_keys_are_unique():
    from reasongraph.analysis.groups.level_collapse import collapse_table
    from reasongraph.analysis.samples.diversity import diversity_metrics
    from reasongraph.analysis.groups.pooled_alignment import pool_alignment
    from reasongraph.analysis.samples.spread import prompt_spread

    keys = [m.key for m in catalogue.METRICS]
    assert len(keys) == len(set(keys))
    an = synthetic_analysis(n_steps=80, seed=0)
    produced = set(an.metrics) | set(diversity_metrics([[0, 1], [1, 0]], ["a b c d", "b c d e"], 2))
    produced |= set(prompt_spread([np.ones((20, 3)), np.eye(20, 3)], [[0, 1], [1, 0]], m=16, k=2))
    produced |= set(pool_alignment([an.metrics]))
    rows = [{**an.metrics, "group": g, "pair": p} for g in ("a", "b") for p in ("1", "2")]
    produced |= set(collapse_table(rows, "a", "b", n_boot=10).as_dict()["summary"])
    scope = _locus_scope()
    produced |= set(scope["summary"]) | set(scope["layers"]) | set(scope["splits"])
    assert set(keys) - produced == ROW_ONLY
    for m in catalogue.METRICS:
        assert m.panel in (None, *dict(metric.PANELS)) and m.direction in ("", "+", "-"), m.key
        assert m.level in ("size", "graph", "token", "hidden", "levels", "samples", "group", "locus"), m.key


def _locus_scope() -> dict:
    """A locus scope summarized from synthetic per-text numbers (no model): the keys locus.json holds."""
    from reasongraph.train.locus.scopes import LocusData, summarize_scope
    from reasongraph.train.locus.similarity import similarity_profile

    rng = np.random.default_rng(0)
    own = [rng.uniform(0, 2, size=8) for _ in range(3)]
    data = LocusData(n_layers=2, lens_layers=[0, 1, 2], patch_layers=[0, 2], sample_text=np.repeat([0, 1, 2], 4),
                     lens_a=rng.uniform(1, 2, (3, 12)), lens_b=rng.uniform(1, 2, (3, 12)),
                     lens_a_on_b=rng.uniform(1, 2, (3, 12)), own_a=own, own_b=[h * 0.5 for h in own],
                     patch_ab=rng.uniform(0, 8, (2, 3)), patch_ba=rng.uniform(0, 8, (2, 3)),
                     onsets=[np.array([0, 4])] * 3)
    states = [(rng.normal(size=(12, 4)), rng.normal(size=(12, 4))) for _ in range(3)]
    return summarize_scope(data, np.arange(3), name="all", similarity=similarity_profile(states, k=3),
                           temperature={}, n_boot=10)


def test_compare_shows_token_then_hidden_measures():
    keys = catalogue.compare_keys()
    levels = [catalogue.by_key(k).level for k in keys]
    assert levels == sorted(levels, key=["token", "hidden", "graph", "levels", "size"].index)
    assert "mean_entropy" in keys and "erank_window" in keys and "revisits_per_step" in keys


def _mh(tables):
    from reasongraph.stats.mantel_haenszel import mantel_haenszel

    return mantel_haenszel(np.array(tables)).odds_ratio


def _distinct(walks):
    from reasongraph.analysis.samples.diversity import distinct_walk_share

    return distinct_walk_share(walks)


def _similarity(name):
    from reasongraph.train.locus import similarity

    x = np.array([[1, 0, 0], [0, 2, 0], [0, 0, 3], [1, 1, 1]], float)
    y = np.array([[1, 2, 0], [0, 1, 0], [3, 0, 1], [0, 1, 2]], float)
    return getattr(similarity, name)(x) if name == "spectral_entropy" else getattr(similarity, name)(x, y)


def _late_share(*e):
    from reasongraph.train.locus.patching import late_share

    return late_share(*e)


def _graph(walk):
    g = ReasoningGraph.from_walk(walk)
    m = g.metrics()
    m["revisits_per_step"] = m["n_revisits"] / m["n_steps"]
    return m


@pytest.mark.parametrize("key, compute, expected", [
    ("loop_exists", lambda: _graph([0, 1, 0])["loop_exists"], True),
    ("loop_exists", lambda: _graph([0, 0, 1])["loop_exists"], False),
    ("loop_count", lambda: _graph([0, 1, 0, 2, 0])["loop_count"], 2),
    ("max_revisits", lambda: _graph([0, 1, 0, 1, 2, 1])["max_revisits"], 2),
    ("n_revisits", lambda: _graph([0, 1, 0, 1, 2, 1])["n_revisits"], 3),
    ("revisits_per_step", lambda: _graph([0, 1, 0, 1, 2, 1])["revisits_per_step"], 0.5),
    ("cycles_upto_k", lambda: _graph([0, 1, 0, 1, 2, 1])["cycles_upto_k"], 2),
    ("cyclomatic", lambda: _graph([0, 1, 0])["cyclomatic"], 1),
    ("diameter_hops", lambda: _graph([0, 1, 2])["diameter_hops"], 2),
    ("avg_clustering", lambda: _graph([0, 1, 2, 0])["avg_clustering"], 1.0),
    ("mean_entropy", lambda: entropy_of([0.5, 0.5]), 0.693147),
    ("mean_entropy", lambda: entropy_of([0.8, 0.1, 0.1]), 0.639032),
    ("mean_entropy", lambda: entropy_of([0.25] * 4), 1.386294),
    ("effective_rank", lambda: effective_rank_from_singular_values(np.array([3.0, 1.0])), 1.754765),
    ("effective_rank", lambda: effective_rank_from_singular_values(np.array([4.0, 2.0, 1.0])), 2.600490),
    ("effective_rank", lambda: effective_rank(np.array([[1, 0, 0], [0, 2, 0], [0, 0, 3], [1, 1, 1]], float)),
     2.600793),
    ("erv", lambda: float(erank_velocity(np.array([2.0, 2.5, 3.0, 3.2]))[0].mean()), 0.65),
    ("era", lambda: float(erank_velocity(np.array([2.0, 2.5, 3.0, 3.2]))[1].mean()), 0.10),
    ("mh_odds_ratio", lambda: _mh([[[2, 1], [1, 2]], [[3, 1], [1, 3]]]), 6.142857),
    ("distinct_walk_share", lambda: _distinct([[0, 0, 1], [0, 1], [1, 0]]), 2 / 3),
    ("cka", lambda: _similarity("linear_cka"), 0.875909),
    ("procrustes", lambda: _similarity("procrustes_residual"), 0.187304),
    ("spectral_entropy_A", lambda: _similarity("spectral_entropy"), 0.955816),
    ("late_share", lambda: _late_share(2.0, 1.2, 1.8, 0.8), 0.75),
])
def test_check_values_in_the_catalogue_hold(key, compute, expected):
    """Each value here also appears in the metric's documented check (so the docs state what the code does)."""
    got = compute()
    assert got == pytest.approx(expected, abs=1e-6) if isinstance(expected, float) else got == expected
    shown = {0.65: "0.65", 2 / 3: "2/3", 6.142857: "6.142857"}.get(
        expected, f"{expected:g}" if isinstance(expected, float) else str(expected))
    check = catalogue.by_key(key).check
    assert shown in check, (key, check)
