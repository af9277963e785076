"""Hidden measures that can fail: the check values of docs/metrics.md ("Hidden measures that can fail" in the design
notes), against hand computations and independent references, and their controls of known answer on synthetic data.
The controls on the default model's own samples are in test_hidden_controls.py."""
from __future__ import annotations

import math

import numpy as np
import pytest

from reasongraph.graph.visit_concentration import visit_concentration, visit_counts, visit_decay, visit_gini
from reasongraph.stats.control_share import control_share
from reasongraph.analysis.alignment.onset_relative import (NEAR_SATURATED, near_saturated, relative_alignment,
                                                           relative_spikes)
from reasongraph.trace.hidden.spectral import (erank_window_norm, spectral_bound, spectral_entropy,
                                               spectral_entropy_window, window_measures)
from reasongraph.analysis.samples.spread import (cosine_spread, node_entropy, node_information, prefix_means,
                                                 prompt_spread, spread_length, spread_variance)

X4 = np.array([[1, 0, 0], [0, 2, 0], [0, 0, 3], [1, 1, 1]], dtype=np.float64)


# ---------------------------------------------------------------------- spectral entropy, erank over its bound
def test_spectral_entropy_check_value_and_bound():
    assert spectral_entropy(X4) == pytest.approx(0.955816, abs=1e-6)
    assert math.exp(spectral_entropy(X4)) == pytest.approx(2.600793, abs=1e-6)
    assert spectral_bound(4, 3) == pytest.approx(math.log(3)) and spectral_bound(100, 3) == pytest.approx(math.log(3))
    assert spectral_bound(4, 576) == pytest.approx(math.log(3))  # centering costs one dimension
    assert math.isnan(spectral_bound(1, 5)) and math.isnan(spectral_entropy(np.ones((5, 3))))  # no spread


def test_spectral_entropy_is_scale_invariant_and_reads_shape_not_amount():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 20))
    h = spectral_entropy(X)
    assert spectral_entropy(X * 1e-6) == pytest.approx(h, rel=1e-9)
    assert spectral_entropy(X * 1e6) == pytest.approx(h, rel=1e-9)
    # near-duplicates: one base row plus tiny independent noise spread as evenly as large noise does
    base = rng.normal(size=20)
    near = base + 1e-6 * rng.normal(size=(10, 20))
    free = base + rng.normal(size=(10, 20))
    assert spectral_entropy(near) == pytest.approx(spectral_entropy(free), abs=0.3)
    assert cosine_spread(near) < 1e-9 < 0.1 < cosine_spread(free)  # the spread sees the difference


def _window_ranks_svd(X, W):
    out = []
    for j in range(X.shape[0] // W):
        s = np.linalg.svd(X[j * W:(j + 1) * W] - X[j * W:(j + 1) * W].mean(axis=0), compute_uv=False)
        p = s[s > 0] / s.sum()
        out.append(math.exp(-np.sum(p * np.log(p))))
    return np.array(out)


def test_window_measures_against_float64_svds():
    rng = np.random.default_rng(1)
    X = (rng.normal(size=(70, 24)) * rng.uniform(0.1, 3, size=24)).astype(np.float32)
    ranks = _window_ranks_svd(X.astype(np.float64), 16)  # rows 64..69 dropped; float32 read as float64
    m = window_measures(X, 16)
    assert m["erank_window"] == pytest.approx(ranks.mean(), rel=1e-9)
    assert m["spectral_entropy_window"] == pytest.approx(np.log(ranks).mean(), rel=1e-9)
    assert m["erank_window_norm"] == pytest.approx(ranks.mean() / 15, rel=1e-9)
    assert spectral_entropy_window(X, window=16) == m["spectral_entropy_window"]
    assert erank_window_norm(X, window=16) == m["erank_window_norm"]
    # narrow matrices: the bound is d, not W - 1 (ranks from the 5 x 5 Gram matrix's eigenvalues: 1e-7 agreement)
    assert window_measures(X[:, :5], 16)["erank_window_norm"] == pytest.approx(
        _window_ranks_svd(X[:, :5].astype(np.float64), 16).mean() / 5, rel=1e-7)


def test_a_random_window_sits_at_its_bound():
    # the design notes' check: a random centered 16 x 576 window gives 14.95 of 15
    X = np.random.default_rng(0).normal(size=(16, 576))
    m = window_measures(X, 16)
    assert m["erank_window"] == pytest.approx(14.95, abs=0.01)
    assert m["erank_window_norm"] == pytest.approx(14.95 / 15, abs=0.001)


def test_a_window_longer_than_the_trace_is_nan_never_a_ceiling():
    X = np.random.default_rng(2).normal(size=(127, 8))
    assert all(math.isnan(v) for v in window_measures(X, 128).values())
    assert not any(math.isnan(v) for v in window_measures(X, 127).values())


def test_a_layer_projected_to_rank_r_gives_erank_at_most_r():
    rng = np.random.default_rng(3)
    for r in (1, 2, 5):
        basis = np.linalg.qr(rng.normal(size=(64, r)))[0]
        X = rng.normal(size=(200, 64)) @ basis @ basis.T + rng.normal(size=64)  # rank r around any mean
        m = window_measures(X, 32)
        assert m["erank_window"] <= r + 1e-9 and m["spectral_entropy_window"] <= math.log(r) + 1e-9


# ---------------------------------------------------------------------- visit concentration
def test_visit_concentration_check_values():
    assert visit_gini([4, 2, 1, 1]) == 0.3125
    assert visit_gini([2, 2, 2, 2]) == 0.0
    assert visit_decay([8, 4, 2, 1]) == pytest.approx(1.459022, abs=1e-6)
    assert visit_decay([1, 2, 8, 4]) == visit_decay([8, 4, 2, 1])  # ranks come from sorting
    # fewer than 3 visited nodes: no share, no slope; zero counts are no visited node
    assert math.isnan(visit_gini([5, 3])) and math.isnan(visit_decay([5, 3, 0]))


def test_visit_concentration_against_independent_formulas():
    rng = np.random.default_rng(4)
    for _ in range(50):
        x = rng.integers(1, 20, size=rng.integers(3, 12)).astype(float)
        s = np.sort(x)  # the sorted-order form of the Gini coefficient
        n = s.size
        gini = (2 * np.sum(np.arange(1, n + 1) * s) / (n * s.sum())) - (n + 1) / n
        assert visit_gini(x) == pytest.approx(gini, abs=1e-12)
        from scipy.stats import linregress

        slope = linregress(np.log(np.arange(1, n + 1)), np.log(s[::-1])).slope
        assert visit_decay(x) == pytest.approx(-slope, rel=1e-9)


def test_visit_counts_of_a_walk_skip_dropped_steps():
    walk = [3, 3, 1, -1, 3, 2, 2, -1]
    assert visit_counts(walk).tolist() == [1, 2, 3]  # nodes 1, 2, 3
    assert visit_concentration(walk) == {"visit_gini": visit_gini([1, 2, 3]), "visit_decay": visit_decay([3, 2, 1])}
    assert all(math.isnan(v) for v in visit_concentration([0, 1, 0, -1]).values())


# ---------------------------------------------------------------------- cross-sample spread
def test_identical_samples_give_no_spread():
    rng = np.random.default_rng(5)
    prefix = rng.normal(size=(40, 576)) * 30  # large activations, as at layer 0.9
    walk = [0, 3, 1, 3, 2, 2]
    out = prompt_spread([prefix.copy() for _ in range(8)], [list(walk) for _ in range(8)], m=32, k=50)
    assert out["cosine_spread"] <= 1e-12 and out["spread_variance"] <= 1e-12 and out["node_information"] <= 1e-12
    # node entropy counts each sample's own spread over nodes: identical samples give one walk's entropy
    one = np.array([1, 1, 2, 2]) / 6
    assert out["node_entropy"] == pytest.approx(-np.sum(one * np.log(one)), abs=1e-12)
    assert out["node_entropy_cap"] == pytest.approx(math.log(min(50, 48)))


def test_spread_by_hand():
    means = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # pairs: 1 - 0 = 1; 1 - 1/sqrt2; 1 - 1/sqrt2
    assert cosine_spread(means) == pytest.approx((1 + 2 * (1 - 1 / math.sqrt(2))) / 3)
    # centre (2/3, 2/3): squared distances 5/9, 5/9, 2/9
    assert spread_variance(means) == pytest.approx((5 / 9 + 5 / 9 + 2 / 9) / 3)
    assert math.isnan(cosine_spread(means[:1])) and math.isnan(spread_variance(means[:1]))
    # prefix means average exactly the first m rows, in float64
    p = np.arange(12, dtype=np.float16).reshape(6, 2)
    assert prefix_means([p, p + 1], 3).tolist() == [[2.0, 3.0], [3.0, 4.0]]
    with pytest.raises(ValueError, match="fewer than m"):
        prefix_means([p], 7)


def test_node_entropy_and_information_by_hand():
    assert node_entropy([[0, 0], [1, 1]], k=10) == (pytest.approx(math.log(2)), pytest.approx(math.log(4)))
    assert node_information([[0, 0], [1, 1]]) == pytest.approx(math.log(2))  # which sample decides the node
    assert node_information([[0, 1], [1, 0]]) == pytest.approx(0.0, abs=1e-15)  # same proportions
    h, cap = node_entropy([[0, 1, 2], [0, -1]], k=2)
    p = np.array([2, 1, 1]) / 4
    assert h == pytest.approx(-np.sum(p * np.log(p))) and cap == pytest.approx(math.log(2))  # K caps it
    assert all(math.isnan(v) for v in node_entropy([[-1], []], k=3)) and math.isnan(node_information([[]]))


def test_spread_length_and_left_out_samples():
    assert spread_length([40, 15, 0, 22, 90]) == 22  # 15 and 0 are left out
    assert spread_length([800, 900], cap=512) == 512
    assert spread_length([3, 15]) is None
    rng = np.random.default_rng(6)
    prefixes = [rng.normal(size=(n, 4)) for n in (30, 20, 10)] + [None]
    out = prompt_spread(prefixes, [[0], [1], [2], [3]], m=20, k=5)
    assert (out["spread_tokens"], out["n_spread_samples"], out["n_spread_left_out"]) == (20, 2, 2)
    assert out["cosine_spread"] == pytest.approx(cosine_spread(prefix_means(prefixes[:2], 20)))
    out = prompt_spread(prefixes, [[0], [1], [2], [3]], m=None, k=5)
    assert out["n_spread_samples"] == 0 and math.isnan(out["cosine_spread"])


# ---------------------------------------------------------------------- onset-relative spikes
def test_relative_spikes_by_hand():
    # ceil(0.2 * 5) = 1 spike: 0.9 at steps 1 and 2, the tie goes to the earlier
    assert relative_spikes([0.5, 0.9, 0.9, 0.1, 0.3]).tolist() == [False, True, False, False, False]
    # ceil(0.2 * 15) = 3, although 0.2 * 15 is 3.0000000000000004 in floating point
    h = np.arange(15, dtype=float)
    assert relative_spikes(h).sum() == 3 and relative_spikes(h)[-3:].all()
    # NaN onsets never spike and do not count in n; fewer than 5 defined onsets: undefined
    h = np.array([np.nan, 0.1, 0.2, 0.3, 0.4, 0.5, np.nan])
    assert relative_spikes(h, rho=0.5).tolist() == [False, False, False, True, True, True, False]
    assert relative_spikes([0.1, 0.2, np.nan, 0.3, 0.4]) is None


def test_relative_alignment_table_and_row_fields():
    onset = np.array([3.0, 0.1, 2.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])  # top 2 of 10: steps 0 and 2
    revisit = np.zeros(10, dtype=bool)
    revisit[[2, 5, 7]] = True
    rel = relative_alignment(onset, revisit, rho=0.2)
    assert rel.revisit_spike.table.tolist() == [[1, 2], [1, 6]] and rel.hidden_only.tolist() == [5, 7]
    d = rel.as_dict()
    assert d["align_rel_hidden_only_share"] == pytest.approx(2 / 3) and d["align_rel_n_hidden_only"] == 2
    undefined = relative_alignment(onset[:4], revisit[:4]).as_dict()
    assert undefined["align_rel_revisit_spike"] is None and math.isnan(undefined["align_rel_odds_ratio"])


def test_near_saturated_flag_in_a_trace_alignment():
    from reasongraph.analysis.alignment.align import align

    # 10 steps of 5 tokens; every step begins with the trace's highest entropies: the token-relative rule saturates
    entropy = np.full(50, 0.01)
    entropy[::5] = np.linspace(2.0, 3.0, 10)
    spans = np.array([[5 * i, 5 * i + 5] for i in range(10)])
    out = align(entropy, spans, [3, 6]).as_dict()
    assert out["align_spike_rate"] == 1.0 and out["align_near_saturated"] is True and NEAR_SATURATED == 0.8
    assert out["align_n_hidden_only"] == 0  # no revisit can be hidden-only: the rule cannot fail
    assert out["align_rel_revisit_spike"] + out["align_rel_norevisit_spike"] == 2  # ceil(0.2 * 10)
    assert out["align_rel_n_hidden_only"] == 2  # steps 3 and 6 are not among the two highest onsets (8, 9)
    assert near_saturated(0.8) is False and near_saturated(0.81) is True and near_saturated(math.nan) is None


# ---------------------------------------------------------------------- pooled over a group
def _cells(prefix, t):
    names = ("revisit_spike", "revisit_nospike", "norevisit_spike", "norevisit_nospike")
    return {f"{prefix}_{n}": int(v) for n, v in zip(names, np.asarray(t).ravel())}


def test_pooled_onset_relative_tables_and_spike_rate():
    from reasongraph.analysis.groups.pooled_alignment import pool_alignment
    from reasongraph.stats.mantel_haenszel import mantel_haenszel

    main = [[[2, 1], [5, 0]], [[1, 0], [3, 1]]]
    rel = [[[1, 2], [1, 4]], [[0, 1], [1, 3]]]
    rows = [{**_cells("align", m), "align_n_hidden_only": m[0][1], **_cells("align_rel", r),
             "align_rel_n_hidden_only": r[0][1], "align_near_saturated": i == 0} for i, (m, r) in enumerate(zip(main, rel))]
    rows.append({**_cells("align", [[0, 1], [1, 3]]), "align_n_hidden_only": 1, "align_rel_revisit_spike": None})
    out = pool_alignment(rows, n_boot=200)
    assert out["spike_rate"] == pytest.approx((2 + 5 + 1 + 3 + 0 + 1) / (8 + 5 + 5))
    assert out["near_saturated"] is False and out["n_near_saturated"] == 1
    assert out["rel_n_traces"] == 2 and out["rel_mh_odds_ratio"] == pytest.approx(mantel_haenszel(rel).odds_ratio)
    assert out["rel_hidden_only_share"] == pytest.approx(3 / 4) and out["rel_n_revisits"] == 4
    saturated = pool_alignment([{**_cells("align", [[3, 0], [6, 1]]), "align_n_hidden_only": 0}], n_boot=10)
    assert saturated["spike_rate"] == 0.9 and saturated["near_saturated"] is True


# ---------------------------------------------------------------------- a collapse as a share of its control's range
def test_control_share_by_hand():
    xa, xb, xc = np.array([2.0, 4.0, np.nan]), np.array([1.5, 3.0, 1.0]), np.array([1.0, 2.0, 0.5])
    out = control_share(xa, xb, xc, n_boot=300, seed=1)
    assert out["n"] == 2 and out["value"] == pytest.approx((3.0 - 2.25) / (3.0 - 1.5))
    idx = np.random.default_rng(1).integers(0, 2, size=(300, 2))
    a, b, c = (np.array(v[:2])[idx].mean(axis=1) for v in (xa, xb, xc))
    boot = (a - b) / (a - c)
    assert out["ci_low"] == pytest.approx(np.percentile(boot, 2.5)) and out["ci_high"] == pytest.approx(
        np.percentile(boot, 97.5))
    assert math.isnan(control_share([1.0, 2.0], [1.0, 1.0], [1.0, 2.0])["value"])  # no range: A = C


def test_template_texts_change_only_the_last_number():
    from reasongraph.analysis.samples.spread import template_texts

    assert template_texts("So 47 + 38 = 85.", 3) == ["So 47 + 38 = 85.", "So 48 + 38 = 85.", "So 49 + 38 = 85."]
    assert template_texts("no digits here", 4) is None
