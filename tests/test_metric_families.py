"""The per-trace metric families: together they give today's rows (the same keys in the same order), each computes
the keys its catalogue entries document, the layer columns repeat their per-layer keys, and the registry places,
refuses and removes families as documented."""
from __future__ import annotations

import math

import pytest

from reasongraph.analysis import catalogue
from reasongraph.analysis.metrics import (TraceContext, TraceMetrics, compute_metrics, extra_metric_modules,
                                          extra_metric_names, metric_families, register_metric, unregister_metric)
from reasongraph.analysis.metrics.registry import BUILT_IN
from reasongraph.analysis.one_trace import LAYER_COLUMN_METRICS, analyze_trace, layer_metrics
from reasongraph.analysis.synthetic import synthetic_analysis
from reasongraph.core.errors import InputError
from reasongraph.core.metric import Metric

#: The metric keys of a one-layer analysis as rows held them before the families existed (redesign-base).
ROW_KEYS = (
    "n_tokens n_steps n_nodes n_edges loop_exists loop_count max_revisits n_revisits cyclomatic scc_share "
    "cycles_upto_k cycles_truncated diameter diameter_hops avg_clustering c_rand path_length path_length_hops l_rand "
    "small_world small_world_hops revisits_per_step visit_gini visit_decay mean_entropy median_entropy "
    "low_entropy_share entropy_p80 n_forking forking_share n_markers effective_rank erank_window "
    "spectral_entropy_window erank_window_norm erv era level_coupling align_rule align_revisit_spike "
    "align_revisit_nospike align_norevisit_spike align_norevisit_nospike align_odds_ratio align_odds_ratio_corrected "
    "align_fisher_p align_fisher_p_greater align_enrichment align_p_value align_n_hidden_only align_n_token_only "
    "align_hidden_only_share align_onset_fork_rate align_onset_fork_null align_spike_threshold onset_entropy_mean "
    "align_spike_rate align_near_saturated align_rel_revisit_spike align_rel_revisit_nospike "
    "align_rel_norevisit_spike align_rel_norevisit_nospike align_rel_odds_ratio align_rel_odds_ratio_corrected "
    "align_rel_fisher_p align_rel_fisher_p_greater align_rel_n_hidden_only align_rel_hidden_only_share "
    "align_revisit_marker align_revisit_nomarker align_norevisit_marker align_norevisit_nomarker align_marker_spike "
    "align_marker_nospike align_nomarker_spike align_nomarker_nospike marker_revisit_odds_ratio "
    "marker_revisit_odds_ratio_corrected marker_revisit_fisher_p marker_revisit_fisher_p_greater "
    "marker_spike_odds_ratio marker_spike_odds_ratio_corrected marker_spike_fisher_p marker_spike_fisher_p_greater "
    "cluster_method").split()
#: What the layer columns repeated per further layer before the families existed.
OLD_LAYER_COLUMNS = ("n_nodes", "loop_exists", "loop_count", "max_revisits", "n_revisits", "revisits_per_step",
             "cycles_upto_k", "diameter_hops", "small_world_hops", "effective_rank", "erank_window")
ROW_ONLY = {"forking_share_pooled", "forking_share_ref"}  # documented by the forking family, added by score/compare


@pytest.fixture(scope="module")
def analysis():
    return synthetic_analysis(n_steps=40, seed=1, n_shifts=20)


def _context(an) -> TraceContext:
    return TraceContext(an.trace, an.labels, an.params["layer"], an.params)


def test_built_in_families_give_todays_row_keys_in_order(analysis):
    assert list(analysis.metrics) == ROW_KEYS
    assert LAYER_COLUMN_METRICS == OLD_LAYER_COLUMNS
    assert [f.name for f in metric_families()] == [f.name for f in BUILT_IN] == [
        "size", "walk", "topology", "concentration", "token_entropy", "forking", "markers", "hidden", "alignment"]


def test_each_family_computes_the_keys_it_documents(analysis):
    ctx, start = _context(analysis), 0
    for family in BUILT_IN:
        keys = list(family.compute(ctx))
        assert keys == ROW_KEYS[start:start + len(keys)], family.name  # the families partition the row in order
        start += len(keys)
        assert set(family.keys) - set(keys) <= ROW_ONLY, family.name
        assert set(family.keys) - set(keys) == (ROW_ONLY if family.name == "forking" else set())
    assert ROW_KEYS[start:] == ["cluster_method"]  # the clustering's parameters follow the families
    got = compute_metrics(ctx)
    assert list(got) == ROW_KEYS[:-1] and _equal_with_nan(got, analysis.metrics)


def _equal_with_nan(a: dict, b: dict) -> bool:
    return all(a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_layer_metrics_equal_the_analysis_at_that_layer(tiny):
    import reasongraph as rg

    text = "First we add.\nThen we check the sum.\nWait, recheck it.\nThe sum is 7.\nDone with that."
    trace = rg.extract(text, model=tiny, layers=[0.5, 1.0])
    labels = [0, 1, 0, 1, 2]
    for layer in trace.layers:
        columns = layer_metrics(trace, labels, layer)
        full = analyze_trace(trace, labels=labels, layer=layer, n_shifts=10).metrics
        assert list(columns) == list(OLD_LAYER_COLUMNS) and _equal_with_nan(columns, full)
    # with several layers the hidden family adds each layer's effective rank after its own measures
    keys = list(full)
    at = keys.index("level_coupling") + 1
    assert keys[at:at + 2] == [f"effective_rank_layer{k}" for k in trace.layers]
    assert full[f"effective_rank_layer{layer}"] == full["effective_rank"]


def _family(name: str, key: str, value=1.0, **kw) -> TraceMetrics:
    return TraceMetrics(name, (Metric(key, key, f"the toy {key}", None, "size"),), lambda ctx: {key: value}, **kw)


def test_register_places_replaces_and_removes(analysis):
    ctx = _context(analysis)
    first, second = _family("toy_a", "toy_a_value", 1.0), _family("toy_b", "toy_b_value", 2.0)
    try:
        register_metric(first)
        register_metric(second, after="size")
        assert extra_metric_names() == ["toy_b", "toy_a"]
        keys = list(compute_metrics(ctx))
        assert keys[:2] == ["n_tokens", "toy_b_value"] and keys[-1] == "toy_a_value"
        register_metric(_family("toy_b", "toy_b_value", 3.0))  # again: replaced in its place
        got = compute_metrics(ctx)
        assert list(got)[1] == "toy_b_value" and got["toy_b_value"] == 3.0
        assert [m.key for m in catalogue.entries()].index("toy_b_value") == 1
        assert extra_metric_modules() == [__name__]
    finally:
        unregister_metric("toy_a")
        unregister_metric("toy_b")
    assert extra_metric_names() == [] and list(compute_metrics(ctx)) == ROW_KEYS[:-1]
    assert catalogue.entries() == catalogue.METRICS


def test_the_registry_refuses_what_would_change_or_hide_a_number(analysis):
    with pytest.raises(InputError, match="built-in family"):
        register_metric(_family("walk", "toy_value"))
    with pytest.raises(InputError, match="built-in family"):
        unregister_metric("hidden")
    with pytest.raises(InputError, match=r"documents keys another family has: \['n_tokens'\]"):
        register_metric(_family("toy", "n_tokens"))
    with pytest.raises(InputError, match="after='nowhere' names no family"):
        register_metric(_family("toy", "toy_value"), after="nowhere")
    with pytest.raises(InputError, match="per_layer keys \\['other'\\] have no entry"):
        _family("toy", "toy_value", per_layer=("other",))
    with pytest.raises(InputError, match="a family name is a word"):
        _family("two words", "toy_value")
    sneaky = TraceMetrics("sneaky", (Metric("toy_value", "toy", "a toy", None, "size"),),
                          lambda ctx: {"toy_value": 1, "n_steps": 0})  # a key it does not document, taken
    try:
        register_metric(sneaky)
        with pytest.raises(InputError, match=r"'sneaky' returns keys another family returned: \['n_steps'\]"):
            compute_metrics(_context(analysis))
    finally:
        unregister_metric("sneaky")


def test_a_family_defined_in_main_cannot_reach_ray_workers():
    def compute(ctx):
        return {"toy_value": 1}

    compute.__module__ = "__main__"
    try:
        register_metric(TraceMetrics("from_main", (Metric("toy_value", "toy", "a toy", None, "size"),), compute))
        with pytest.raises(InputError, match=r"\['from_main'\] are defined in __main__"):
            extra_metric_modules()
    finally:
        unregister_metric("from_main")
