"""The array math of ``reasongraph locus``, checked against science.md's check values, independent float64
references and hand-computed examples: CKA, Procrustes, k-NN overlap, spectral entropy, the late share, the lens
ratio and its locus, Holm, the temperature fit and where in the text the drop lies."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes

from reasongraph.train.locus.depth_profile import lens_profile, locus_layer
from reasongraph.train.locus.patching import half_drop_layer, late_share, patch_profile
from reasongraph.train.locus.similarity import knn_overlap, linear_cka, procrustes_residual, spectral_entropy
from reasongraph.train.locus.layer_store import LayerStore
from reasongraph.train.locus.temperature_fit import fit_temperature
from reasongraph.train.locus.where_in_text import text_profile
from reasongraph.stats.paired import holm

X = np.array([[1, 0, 0], [0, 2, 0], [0, 0, 3], [1, 1, 1]], dtype=float)
Y = np.array([[1, 2, 0], [0, 1, 0], [3, 0, 1], [0, 1, 2]], dtype=float)


def test_check_values_of_science_md():
    assert linear_cka(X, Y) == pytest.approx(0.875909, abs=1e-6)
    assert procrustes_residual(X, Y) == pytest.approx(0.187304, abs=1e-6)
    assert spectral_entropy(X) == pytest.approx(0.955816, abs=1e-6)
    assert math.exp(spectral_entropy(X)) == pytest.approx(2.600793, abs=1e-6)


def _cka_reference(x, y):
    x, y = x - x.mean(0), y - y.mean(0)
    return np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


def _procrustes_reference(x, y):
    """scipy's orthogonal Procrustes solution R, then the residual itself."""
    x, y = x - x.mean(0), y - y.mean(0)
    x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
    r, _ = orthogonal_procrustes(x, y)
    return np.linalg.norm(x @ r - y) ** 2


@pytest.mark.parametrize("n, d", [(50, 8), (12, 40)])  # more tokens than dimensions, and fewer (the Gram path)
def test_cka_and_procrustes_equal_independent_references(n, d):
    rng = np.random.default_rng(n)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    y = 0.5 * x + y
    assert linear_cka(x, y) == pytest.approx(_cka_reference(x, y), rel=1e-10)
    assert procrustes_residual(x, y) == pytest.approx(_procrustes_reference(x, y), rel=1e-9)


@pytest.mark.parametrize("n, d", [(60, 10), (15, 30)])
def test_invariant_to_rotation_and_scale_and_moved_by_a_real_change(n, d):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, d))
    rotation = np.linalg.qr(rng.normal(size=(d, d)))[0]
    y = 3.0 * x @ rotation + 2.0  # Y = cXR + shift
    assert linear_cka(x, y) == pytest.approx(1.0, abs=1e-12)
    assert procrustes_residual(x, y) == pytest.approx(0.0, abs=1e-12)
    assert knn_overlap(x, y, k=5) == 1.0
    assert spectral_entropy(y) == pytest.approx(spectral_entropy(x), abs=1e-12)
    z = rng.normal(size=(n, d))  # unrelated (with fewer tokens than dimensions a rotation fits much of anything)
    assert linear_cka(x, z) < 0.9 and knn_overlap(x, z, k=5) < 0.5
    assert procrustes_residual(x, z) > (0.5 if n > d else 0.1)


def test_knn_overlap_counts_shared_neighbours():
    # four points on a line: neighbours (k=1) of 0,1,2,3 are 1,0|2,1|3,2; moving point 3 next to point 0 changes
    # the nearest neighbour of points 0 and 3 only
    a = np.array([[0.0], [1.0], [2.1], [3.3]])
    b = np.array([[0.0], [1.0], [2.1], [-0.4]])
    nn_a = {0: 1, 1: 0, 2: 1, 3: 2}
    nn_b = {0: 3, 1: 0, 2: 1, 3: 0}
    expected = np.mean([nn_a[i] == nn_b[i] for i in range(4)])
    assert knn_overlap(a, b, k=1) == pytest.approx(expected) == 0.5
    assert math.isnan(knn_overlap(a[:2], b[:2], k=1))


def test_late_share_check_values_and_profile():
    assert late_share(2.0, 1.2, 1.8, 0.8) == pytest.approx(0.75)  # head-only share
    assert 1 - late_share(2.0, 1.2, 1.8, 0.8) == pytest.approx(0.25)  # trunk share
    assert math.isnan(late_share(1.0, 1.0, 1.0, 1.0))
    # two texts, token-weighted: E's are sums over tokens / tokens
    counts = np.array([1, 3])
    e_aa, e_bb = 2.0 * counts, 0.8 * counts
    e_ab = np.array([0.8 * counts, 1.2 * counts])  # split 0: all of B; split L: the head swap
    e_ba = np.array([2.0 * counts, 1.8 * counts])
    p = patch_profile([0, 4], e_aa, e_bb, e_ab, e_ba, counts, n_boot=50)
    assert p["late_share"] == pytest.approx([1.0, 0.75])
    assert p["head_only_share"] == pytest.approx(0.75) and p["trunk_share"] == pytest.approx(0.25)
    assert p["D"] == pytest.approx(1.2) and p["E_AA"] == pytest.approx(2.0) and p["n_tokens"] == 4
    assert p["half_drop_layer"] is None  # 0.75 of the drop is the head's
    assert half_drop_layer([0, 2, 4], [1.0, 0.4, 0.0]) == 2


def test_lens_profile_ratio_ci_p_and_locus():
    rng = np.random.default_rng(0)
    counts = rng.integers(5, 20, size=30).astype(float)
    h_a = rng.uniform(1.0, 2.0, size=(3, 30)) * counts
    h_b = h_a * np.array([[1.0], [0.9], [0.5]])  # no change, a 10% drop, a 50% drop
    prof = lens_profile(h_a, h_b, counts, n_boot=500)
    assert prof["ratio"] == pytest.approx([1.0, 0.9, 0.5])
    assert prof["A"][0] == pytest.approx(h_a[0].sum() / counts.sum())
    assert prof["ci_low"][1] == pytest.approx(0.9) and prof["ci_high"][1] == pytest.approx(0.9)
    assert prof["p"][0] == 1.0 and prof["p"][2] < 1e-3
    assert prof["p_holm"] == pytest.approx(list(holm(prof["p"])))
    assert locus_layer([0, 5, 10], prof["ratio"]) == 10  # half of the last drop (0.25) is first reached at 10
    assert locus_layer([0, 5, 10], [1.0, 0.7, 0.5]) == 5
    assert locus_layer([0, 5, 10], [0.9, 1.0, 1.1]) is None  # no drop at the last layer: nothing to locate


def test_holm_by_hand():
    assert list(holm([0.01, 0.04, 0.03, math.nan, 0.005])[[0, 1, 2, 4]]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert math.isnan(holm([0.01, math.nan])[1])


def _softmax_entropy(z, t):
    s = z / t - (z / t).max(1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(1, keepdims=True)
    return -(p * np.log(p)).sum(1)


def test_temperature_fit_recovers_a_pure_temperature_and_explains_little_else():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(80, 50)) * 3
    calls = []

    def entropies_at(temps):
        calls.append(len(temps))
        return np.stack([_softmax_entropy(z, t) for t in temps], 1)

    fit = fit_temperature(_softmax_entropy(z, 0.6), entropies_at, baseline_entropy=_softmax_entropy(z, 1.0))
    assert fit["t_star"] == pytest.approx(0.6, abs=1e-5) and fit["share_explained"] == pytest.approx(1.0, abs=1e-9)
    assert calls == [17, 13, 9, 3, 1] and not fit["at_grid_edge"]  # three grids and the polish: five head passes
    # B lowers the entropy of half the tokens only: no single temperature explains it
    target = _softmax_entropy(z, 1.0)
    target[:40] = _softmax_entropy(z[:40], 0.3)
    fit = fit_temperature(target, entropies_at, baseline_entropy=_softmax_entropy(z, 1.0))
    assert 0.1 < fit["share_explained"] < 0.8 and 0.3 < fit["t_star"] < 1.0
    dense = np.geomspace(0.2, 2.0, 2001)  # the grid search found the global minimum on a dense grid
    sse = ((entropies_at(dense) - target[:, None]) ** 2).sum(0)
    assert fit["t_star"] == pytest.approx(dense[np.argmin(sse)], rel=2e-3)
    assert fit["sse_t_star"] <= sse.min() + 1e-9


def test_where_in_the_text_by_hand():
    # one text of 10 tokens: A's entropies 0..9; B drops only the top two tokens (8 and 9) to 0
    h_a = np.arange(10, dtype=float)
    h_b = h_a.copy()
    h_b[8:] = 0.0
    out = text_profile([h_a], [h_b], [[0, 8]], n_boot=20)
    assert out["total_drop"] == 17.0
    assert out["top20_drop_share"] == 1.0  # A's top 20% are tokens 8 and 9
    assert out["top20_overlap"] == 0.0  # B's top 20% are 6 and 7 now
    assert out["onset_drop"] == 4.0 and out["other_drop"] == pytest.approx(9 / 8)  # (0 + 8) / 2, 9 / 8
    shares = [b["drop_share"] for b in out["buckets"]]
    assert shares == pytest.approx([0] * 8 + [8 / 17, 9 / 17]) and [b["n"] for b in out["buckets"]] == [1] * 10


def test_store_roundtrip_blocks_and_rows(tmp_path):
    store = LayerStore(tmp_path / "s")
    a, b = np.arange(6, dtype=np.float32).reshape(2, 3), np.ones((1, 3), dtype=np.float32)
    assert store.append("A.full.1", a) == 0 and store.append("A.full.1", b) == 1
    assert np.array_equal(store.block("A.full.1", 1), b) and np.array_equal(store.read("A.full.1", rows=[2, 0]),
                                                                             np.vstack([b, a[:1]]))
    with pytest.raises(ValueError):
        store.append("A.full.1", np.ones((1, 4)))
    store.remove()
    assert not (tmp_path / "s").exists()
