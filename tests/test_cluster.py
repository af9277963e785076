"""Step clustering: KMeans (exact and fast), HDBSCAN noise policies, reductions, fitting over traces, save/load."""
from __future__ import annotations

import json
import logging
import os
import sys
import types

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score

from reasongraph.graph.cluster.estimator import StepClusterer, fit_clusterer, load_clusterer
from reasongraph.graph.cluster.kmeans import k_for_steps
from reasongraph.trace.steps import Step
from reasongraph.trace.trace import Trace


def blobs(n: int = 300, centers: int = 5, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(n, n_features=dim, centers=centers, cluster_std=0.5, center_box=(-20, 20), random_state=seed)
    return X.astype(np.float32), y


def sq_distance_sum(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> float:
    """Inertia computed directly from differences (independent of the module's expansion formula)."""
    diff = X.astype(np.float64) - centers.astype(np.float64)[labels]
    return float((diff ** 2).sum())


def make_trace(vectors: np.ndarray, layer: int = 3, tokens_per_step: int = 3, seed: int = 0) -> Trace:
    """A real Trace whose step i has ``tokens_per_step`` tokens with mean hidden state ``vectors[i]``."""
    rng = np.random.default_rng(seed)
    n_steps, dim = vectors.shape
    noise = rng.normal(0, 0.01, (n_steps, tokens_per_step, dim))
    noise -= noise.mean(axis=1, keepdims=True)  # so each step's mean is exactly vectors[i] (up to float32)
    hidden = (vectors[:, None, :] + noise).reshape(-1, dim).astype(np.float32)
    n_tokens = n_steps * tokens_per_step
    tokens = ["ab"] * n_tokens
    text = "".join(tokens)
    steps = [Step(i * tokens_per_step, (i + 1) * tokens_per_step, 2 * i * tokens_per_step,
                  2 * (i + 1) * tokens_per_step, text[2 * i * tokens_per_step:2 * (i + 1) * tokens_per_step])
             for i in range(n_steps)]
    return Trace(text=text, prompt=None, input_ids=np.arange(n_tokens), prompt_len=0, tokens=tokens,
                 offsets=np.array([(2 * i, 2 * i + 2) for i in range(n_tokens)]),
                 entropy=np.zeros(n_tokens), logprob=np.zeros(n_tokens), hidden={layer: hidden},
                 steps=steps, model_name="test", layers=(layer,))


# ---------------------------------------------------------------------- K
def test_k_for_steps_rule():
    assert [k_for_steps(n) for n in (1, 2, 3, 5, 6, 9, 10, 30, 100, 599, 600, 601, 10_000)] == \
        [1, 2, 2, 2, 2, 3, 3, 10, 33, 199, 200, 200, 200]
    with pytest.raises(ValueError, match="at least one step"):
        k_for_steps(0)


def test_k_auto_uses_the_rule():
    X, _ = blobs(n=60)
    assert StepClusterer(k="auto").fit(X).k_ == 20


def test_k_larger_than_steps_is_clamped_with_a_warning():
    X, _ = blobs(n=12)
    with pytest.warns(UserWarning, match=r"K=200 is more than the number of steps \(12\); using K=12"):
        clu = StepClusterer(k=200).fit(X)
    assert clu.k_ == clu.n_clusters_ == 12
    assert sorted(clu.labels_) == list(range(12))  # every step its own cluster
    assert clu.inertia_ == pytest.approx(0.0, abs=1e-6)


# ---------------------------------------------------------------------- KMeans
@pytest.mark.parametrize("algorithm", ["exact", "fast"])
def test_kmeans_recovers_well_separated_blobs(algorithm):
    X, y = blobs()
    clu = StepClusterer(k=5, algorithm=algorithm, sketch_dim=4, sketch_size=100).fit(X)
    assert clu.algorithm_ == algorithm
    assert adjusted_rand_score(y, clu.labels_) == 1.0
    assert clu.inertia_ == pytest.approx(sq_distance_sum(X, clu.cluster_centers_, clu.labels_), rel=1e-6)
    np.testing.assert_array_equal(clu.predict(X), clu.labels_)


def test_exact_is_the_paper_call():
    X, _ = blobs(n=400, centers=12, dim=8, seed=3)
    clu = StepClusterer(k=8, algorithm="exact").fit(X)
    ref = KMeans(n_clusters=8, n_init=10, random_state=0).fit(X)
    np.testing.assert_allclose(clu.cluster_centers_, ref.cluster_centers_, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(clu.labels_, ref.labels_)
    assert clu.cluster_centers_.dtype == np.float32


def test_auto_is_exact_for_small_sets_and_fast_above_2000_steps():
    X, _ = blobs(n=2001, centers=4, dim=4)
    assert StepClusterer(k=4).fit(X[:2000]).algorithm_ == "exact"
    assert StepClusterer(k=4, sketch_size=500).fit(X).algorithm_ == "fast"


def test_fast_inertia_within_one_percent_of_n_init_10():
    # step-vector-like data: 60 Zipf-weighted components in a 24-d subspace of 96-d, isotropic noise, K = 30.
    # The set is big enough for KMeans optima to concentrate: sklearn's own n_init=10 fits with random_state
    # 0, 1, 2 differ by < 0.4% here (on tiny sets they differ by several %, and "within 1%" means nothing).
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((96, 24)))[0]
    means = (rng.standard_normal((60, 24)) * 6 / np.sqrt(1 + np.arange(24))) @ basis.T
    weights = 1 / (1 + np.arange(60)) ** 0.8
    comp = rng.choice(60, size=4000, p=weights / weights.sum())
    X = (means[comp] + rng.normal(0, 0.5, (4000, 96))).astype(np.float32)
    ref = KMeans(n_clusters=30, n_init=10, random_state=0).fit(X)
    fast = StepClusterer(k=30, algorithm="fast").fit(X)
    assert fast.sketch_dim_ == 64  # the sketch really ran (96-d -> 64)
    ratio = sq_distance_sum(X, fast.cluster_centers_, fast.labels_) / \
        sq_distance_sum(X, ref.cluster_centers_, ref.labels_)
    assert ratio <= 1.01


# ---------------------------------------------------------------------- HDBSCAN and noise
def noisy_blobs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three tight blobs of 40 steps and three isolated outliers (the last three rows)."""
    X, y = blobs(n=120, centers=3, dim=8, seed=1)
    outliers = np.array([[60.0] * 8, [-60.0] * 8, [60.0, -60.0] * 4], dtype=np.float32)
    return np.vstack([X, outliers]), y, np.arange(120, 123)


@pytest.mark.parametrize("noise", ["own", "nearest", "drop"])
def test_hdbscan_noise_policies(noise):
    X, y, out = noisy_blobs()
    clu = StepClusterer(method="hdbscan", noise=noise).fit(X)
    assert clu.n_clusters_ == 3 and clu.n_noise_ == 3
    assert adjusted_rand_score(y, clu.labels_[:120]) == 1.0
    if noise == "own":
        np.testing.assert_array_equal(clu.labels_[out], [3, 4, 5])  # new ids, one per noise step
    elif noise == "drop":
        np.testing.assert_array_equal(clu.labels_[out], [-1, -1, -1])
    else:
        d = ((X[out, None, :] - clu.cluster_centers_[None]) ** 2).sum(axis=2)
        np.testing.assert_array_equal(clu.labels_[out], d.argmin(axis=1))
    assert clu.describe()["noise"] == noise and clu.describe()["n_noise"] == 3


@pytest.mark.parametrize("noise, far_label", [("own", [3, 4]), ("drop", [-1, -1]), ("nearest", None)])
def test_hdbscan_labels_new_steps_by_center_and_radius(noise, far_label):
    X, y, _ = noisy_blobs()
    clu = StepClusterer(method="hdbscan", noise=noise).fit(X)
    near = clu.cluster_centers_ + 0.05  # inside every cluster's radius
    np.testing.assert_array_equal(clu.predict(near), [0, 1, 2])
    far = np.array([[0.0] * 7 + [90.0], [0.0] * 7 + [-90.0]], dtype=np.float32)
    got = clu.predict(far)
    if far_label is None:
        d = ((far[:, None, :] - clu.cluster_centers_[None]) ** 2).sum(axis=2)
        far_label = d.argmin(axis=1)
    np.testing.assert_array_equal(got, far_label)
    # every fitted member is within its own cluster's radius, so the fitted clusters label themselves
    members = clu.labels_[:120]
    np.testing.assert_array_equal(clu.predict(X[:120]), members)


def test_hdbscan_centers_are_members():
    X, _, _ = noisy_blobs()
    clu = StepClusterer(method="hdbscan", noise="drop").fit(X)
    for c, center in enumerate(clu.cluster_centers_):
        members = X[clu.labels_ == c]
        assert (np.abs(members - center).max(axis=1) == 0).any()
        assert clu.radii_[c] == pytest.approx(np.sqrt(((members - center) ** 2).sum(axis=1)).max(), rel=1e-6)


def test_hdbscan_all_noise_with_nearest_is_refused():
    X = np.array([[0.0, 0.0], [10, 0], [0, 10], [10, 10], [5, 50], [50, 5]], dtype=np.float32)
    with pytest.raises(ValueError, match="no cluster"):
        StepClusterer(method="hdbscan", noise="nearest", min_cluster_size=6).fit(X)


def test_hdbscan_package_backend():
    pytest.importorskip("hdbscan", reason="the optional hdbscan package is not installed")
    X, y, out = noisy_blobs()
    clu = StepClusterer(method="hdbscan", backend="hdbscan", noise="drop").fit(X)
    assert clu.algorithm_ == "hdbscan" and clu.describe()["predict_rule"] == "approximate_predict"
    assert adjusted_rand_score(y, clu.labels_[:120]) == 1.0
    np.testing.assert_array_equal(clu.labels_[out], [-1, -1, -1])
    np.testing.assert_array_equal(clu.predict(X[:120]), clu.labels_[:120])


def test_hdbscan_package_save_warns_and_falls_back_to_centers(tmp_path):
    pytest.importorskip("hdbscan", reason="the optional hdbscan package is not installed")
    X, _, _ = noisy_blobs()
    clu = StepClusterer(method="hdbscan", backend="hdbscan", noise="drop").fit(X)
    with pytest.warns(UserWarning, match="approximate_predict"):
        clu.save(tmp_path / "h.npz")
    loaded = load_clusterer(tmp_path / "h.npz")
    assert loaded.describe()["predict_rule"] == "nearest_center"
    np.testing.assert_array_equal(loaded.predict(X[:120]), clu.labels_[:120])


# ---------------------------------------------------------------------- reductions
def test_pca_reduction_is_applied_before_clustering():
    X, y = blobs(dim=32)
    clu = StepClusterer(k=5, reduce="pca:3").fit(X)
    assert clu.cluster_centers_.shape == (5, 3)
    Z = PCA(3, random_state=0).fit_transform(X)
    np.testing.assert_allclose(np.abs((X - clu.pca_mean_) @ clu.pca_components_.T), np.abs(Z), atol=1e-3)
    assert adjusted_rand_score(y, clu.labels_) == 1.0


def test_pca_dimensions_above_steps_are_clamped():
    X, _ = blobs(n=10, dim=32)
    with pytest.warns(UserWarning, match=r"reduce dimensions=50 .*\(10\)"):
        clu = StepClusterer(k=2, reduce="pca:50").fit(X)
    assert clu.pca_components_.shape == (10, 32)


class _FakeUMAP:
    """Stands in for umap.UMAP (PCA underneath): umap-learn's numba compile takes minutes on this CPU."""

    def __init__(self, n_components, n_neighbors, random_state):
        self.kwargs = dict(n_components=n_components, n_neighbors=n_neighbors, random_state=random_state)
        self.pca = PCA(n_components)

    def fit(self, X):
        self.embedding_ = self.pca.fit_transform(X)
        return self

    def transform(self, X):
        return self.pca.transform(X)


def test_umap_reduction_plumbing_and_save_refusal(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=_FakeUMAP))
    X, y = blobs()
    clu = StepClusterer(k=5, reduce="umap:2").fit(X)
    assert clu._umap.kwargs == {"n_components": 2, "n_neighbors": 15, "random_state": 0}
    assert adjusted_rand_score(y, clu.labels_) == 1.0
    np.testing.assert_array_equal(clu.predict(X), clu.labels_)
    with pytest.raises(ValueError, match="pickle"):
        clu.save(tmp_path / "u.npz")


def test_umap_progress_message_is_logged_not_printed(monkeypatch, capsys, caplog):
    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=_FakeUMAP))
    with caplog.at_level(logging.INFO, logger="reasongraph"):
        StepClusterer(k=5, reduce="umap:2").fit(blobs()[0])
    [record] = [r for r in caplog.records if "UMAP" in r.getMessage()]
    assert record.name == "reasongraph" and record.levelno == logging.INFO
    assert "300 steps to 2 dimensions" in record.getMessage() and "tens of seconds" in record.getMessage()
    assert capsys.readouterr() == ("", "")  # the library never prints


@pytest.mark.skipif(not os.environ.get("REASONGRAPH_SLOW_TESTS"),
                    reason="real UMAP compiles with numba for minutes on this CPU; set REASONGRAPH_SLOW_TESTS=1")
def test_real_umap_reduction():
    pytest.importorskip("umap", reason="umap-learn is not installed")
    X, y = blobs(n=150)
    clu = StepClusterer(k=5, reduce="umap:2").fit(X)
    assert adjusted_rand_score(y, clu.labels_) == 1.0


# ---------------------------------------------------------------------- inputs: arrays and traces
def planted_traces() -> tuple[list[Trace], np.ndarray]:
    centers = np.random.default_rng(5).normal(0, 10, (4, 8))
    walks = [[0, 1, 2, 0, 3, 1], [2, 3, 2, 0], [1, 1, 0, 3, 2, 1, 0]]
    traces = [make_trace(centers[w] + np.random.default_rng(i).normal(0, 0.1, (len(w), 8)), seed=i)
              for i, w in enumerate(walks)]
    return traces, np.concatenate(walks)


def test_fit_clusterer_accepts_traces_arrays_and_one_matrix():
    traces, truth = planted_traces()
    arrays = [tr.step_vectors(3) for tr in traces]
    by_trace = fit_clusterer(traces, k=4)
    by_arrays = fit_clusterer(arrays, k=4)
    by_matrix = fit_clusterer(np.vstack(arrays), k=4)
    assert adjusted_rand_score(truth, by_trace.labels_) == 1.0
    np.testing.assert_array_equal(by_trace.labels_, by_arrays.labels_)
    np.testing.assert_array_equal(by_trace.labels_, by_matrix.labels_)
    assert by_trace.layer_ == 3 and by_arrays.layer_ is None
    assert by_trace.describe()["layer"] == 3


def test_label_trace_uses_the_remembered_layer_and_pool():
    traces, _ = planted_traces()
    clu = fit_clusterer(traces, k=4, pool="last")
    assert clu.layer_ == 3 and clu.pool == "last"
    np.testing.assert_array_equal(clu.label_trace(traces[1]), clu.labels_[6:10])
    # a trace that captured another layer first is still labeled from layer 3
    other = traces[1]
    other.hidden = {7: np.zeros_like(other.hidden[3]), 3: other.hidden[3]}
    other.layers = (7, 3)
    np.testing.assert_array_equal(clu.label_trace(other), clu.labels_[6:10])


def test_traces_with_different_first_layers_need_a_layer():
    a = make_trace(np.zeros((3, 4)), layer=3)
    b = make_trace(np.ones((3, 4)), layer=5)
    with pytest.raises(ValueError, match="pass layer="):
        fit_clusterer([a, b], k=2)


# ---------------------------------------------------------------------- save / load
@pytest.mark.parametrize("params", [
    dict(method="kmeans", k=5),
    dict(method="kmeans", k=5, algorithm="fast", sketch_dim=4, sketch_size=150),
    dict(method="kmeans", k=7, reduce="pca:4"),
    dict(method="hdbscan", noise="own"),
    dict(method="hdbscan", noise="drop", reduce="pca:5"),
])
def test_saved_clusterer_labels_identically(tmp_path, params):
    X, _, _ = noisy_blobs()
    new = X + np.random.default_rng(9).normal(0, 2.0, X.shape).astype(np.float32)
    clu = StepClusterer(**params).fit(X)
    path = clu.save(tmp_path / "clusters.npz")
    with np.load(path, allow_pickle=False) as z:  # arrays and a JSON header only
        assert json.loads(bytes(z["header"]).decode())["format"] == "reasongraph.StepClusterer"
    loaded = load_clusterer(path)
    for data in (X, new):
        np.testing.assert_array_equal(loaded.predict(data), clu.predict(data))
    np.testing.assert_array_equal(loaded.labels_, clu.labels_)
    assert loaded.describe() == clu.describe()
    assert loaded.get_params() == clu.get_params()


def test_saved_clusterer_labels_traces(tmp_path):
    traces, _ = planted_traces()
    clu = fit_clusterer(traces, k=4)
    loaded = load_clusterer(clu.save(tmp_path / "c.npz"))
    for tr in traces:
        np.testing.assert_array_equal(loaded.label_trace(tr), clu.label_trace(tr))
    by_class = StepClusterer.load(tmp_path / "c.npz")  # X.save / X.load, as Trace and Analysis
    assert by_class.describe() == loaded.describe()
    np.testing.assert_array_equal(by_class.label_trace(traces[0]), clu.label_trace(traces[0]))


def test_load_rejects_files_that_are_not_clusterers(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="notes.npz: not a reasongraph clusterer"):
        load_clusterer(text)
    trace_file = planted_traces()[0][0].save(tmp_path / "trace.npz")
    with pytest.raises(ValueError, match="trace.npz: not a reasongraph clusterer"):
        load_clusterer(trace_file)
    with pytest.raises(ValueError, match="missing.npz: no such"):
        load_clusterer(tmp_path / "missing.npz")


# ---------------------------------------------------------------------- validation
@pytest.mark.parametrize("params, message", [
    (dict(method="dbscan"), "method must be one of"),
    (dict(reduce="pca"), "reduce must be None, 'pca:N' or 'umap:N'"),
    (dict(reduce="tsne:2"), "reduce must be"),
    (dict(noise="ignore"), "noise must be one of"),
    (dict(k=0), "k must be a positive integer or 'auto'"),
    (dict(algorithm="elkan"), "algorithm must be one of"),
    (dict(random_state=np.random.RandomState(0)), "random_state must be an int or None"),
])
def test_bad_parameters_are_explained(params, message):
    with pytest.raises(ValueError, match=message):
        StepClusterer(**params).fit(blobs(n=30)[0])


def test_bad_inputs_are_explained():
    X, _ = blobs(n=30)
    clu = StepClusterer(k=3).fit(X)
    with pytest.raises(ValueError, match="16 features, but the clusterer was fitted on 8"):
        StepClusterer(k=3).fit(X[:, :8]).predict(X)
    with pytest.raises(ValueError, match="NaN or infinite"):
        clu.predict(np.full((2, 16), np.nan))
    with pytest.raises(ValueError, match="2-D"):
        clu.predict(X[0])
    with pytest.raises(ValueError, match="no steps"):
        StepClusterer(k=3).fit(np.zeros((0, 16)))
    assert clu.predict(np.zeros((0, 16))).shape == (0,)
