"""Step vectors -> node labels: the clustering that turns a trace into a walk over hidden-state clusters.

The Topology of Reasoning paper fits ``KMeans(n_clusters=200, n_init=10, random_state=0)`` once over the raw
float32 step vectors of all samples of one (model, dataset, layer) and labels every sample's steps with it.
:class:`StepClusterer` does that (``algorithm="exact"``), a much faster KMeans whose inertia matches or beats it
on dataset-scale fits (``algorithm="fast"``), and HDBSCAN with an explicit policy for noise steps; an optional PCA or
UMAP reduction runs first. A fitted clusterer saves to one ``.npz`` file (arrays + a JSON header, never pickle)
and labels new traces with :meth:`StepClusterer.label_trace`.

Why a fast KMeans: ``KMeans(200, n_init=10)`` took 100 s on 20k x 576 steps on this project's 2-core CPU (and
over 1000 s when the machine was busy), most of it in k-means++ seeding, whose float32 distances sklearn upcasts
to float64 in chunks; 100k steps would take many minutes. In hundreds of dimensions the per-step noise also
dominates the D^2 weights that k-means++ samples from, which makes its seeds poorer. ``"fast"`` therefore runs
the paper's estimator (same K, ``n_init`` and ``random_state``) on a *sketch*: a subsample of max(100*K, 20,000)
steps (all of them in smaller sets) projected on its top 64 principal components, where seeding and restarts
are cheap and see the cluster structure rather than the noise. The winning centers are extended to all steps by
Lloyd iterations in the sketch, and the resulting partition is refined by Lloyd iterations on all steps in the
raw float32 space, so the final centers are a KMeans fixed point of the data the paper clusters.
``benchmarks/bench_kmeans.py`` measures it on Gaussian-mixture step vectors in 576-d, K = 200: on 20k steps the
fast fit took 14 s with inertia 0.974 x the ``n_init=10`` result (0.990 with restarts on a quarter of the rows,
as on 100k); on 100k steps it took 22 s (goal: 60 s). Its inertia can be lower than the exact call's because
k-means++ seeds better in the sketch, where noise no longer swamps the distances.
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_is_fitted

from reasongraph.errors import InputError

PAPER_K = 200
EXACT_MAX_STEPS = 2000  # algorithm="auto" runs the paper's exact call up to this many steps
_FORMAT = "reasongraph.StepClusterer"
_FORMAT_VERSION = 1
_SAVED_ATTRIBUTES = ("k_", "n_clusters_", "n_noise_", "algorithm_", "n_iter_", "sketch_dim_", "layer_",
                     "n_features_in_", "inertia_", "predict_rule_")  # scalars kept in the JSON header
_METHODS = ("kmeans", "hdbscan")
_ALGORITHMS = ("auto", "exact", "fast")
_NOISE = ("own", "nearest", "drop")
_BACKENDS = ("sklearn", "hdbscan", "auto")
_POOLS = ("mean", "last")


def k_for_steps(n_steps: int) -> int:
    """K for clustering one trace alone: ``n_steps // 3``, at least 2, at most 200, never above ``n_steps``.

    Why a third: a revisit needs a node visited twice with another node in between, so K must be well below the
    number of steps (with K = n_steps every step is its own node and no cycle can exist), while a very small K
    lumps unrelated steps together and makes revisits trivial. With K = n/3 a node holds three steps on
    average: room to come back to a state, few enough steps per node that a node is still one kind of step.
    The cap of 200 is the paper's dataset-level K; the floor of 2 lets a short trace have any structure at all.

    >>> [k_for_steps(n) for n in (1, 2, 5, 9, 30, 600, 10_000)]
    [1, 2, 2, 3, 10, 200, 200]
    """
    n_steps = int(n_steps)
    if n_steps < 1:
        raise InputError(f"k_for_steps needs at least one step, got {n_steps}")
    return min(n_steps, max(2, min(PAPER_K, n_steps // 3)))


class StepClusterer(ClusterMixin, BaseEstimator):
    """Cluster step vectors into the nodes of reasoning graphs (scikit-learn estimator API).

    Parameters
    ----------
    method : "kmeans" (the paper) or "hdbscan" (density clusters; K is found, some steps are noise).
    k : KMeans K (paper: 200), or "auto" for :func:`k_for_steps` of the number of fitted steps. A K above the
        number of steps is lowered to it with a warning.
    n_init, random_state : KMeans restarts and seed (paper: 10 and 0). ``random_state`` also seeds PCA, UMAP
        and the fast mode's subsample; it must be an int (or None) so it can be saved.
    reduce : None, "pca:N" or "umap:N": reduce the vectors to N dimensions before clustering. PCA is saved
        with the clusterer; UMAP (umap-learn, imported only here) cannot be saved without pickle.
    noise : what HDBSCAN's noise steps become. "own": each noise step is its own new node (ids from
        ``n_clusters_`` up, unique within one call), so it can never be a revisit; "nearest": the cluster
        with the nearest center; "drop": label -1, which the graph builder skips.
    min_cluster_size, min_samples : HDBSCAN's parameters.
    algorithm : KMeans variant. "exact": ``sklearn.cluster.KMeans(K, n_init=n_init, random_state=...)`` on the
        vectors, the paper's call. "fast": the same estimator on a PCA sketch of a subsample, then Lloyd
        iterations on all vectors (see the module docstring; same or lower inertia, many times faster).
        "auto" (default): "exact" up to ``EXACT_MAX_STEPS`` = 2000 steps (single traces and small sets, where it
        costs seconds), "fast" above.
    sketch_dim, sketch_size : the fast mode's sketch: principal components kept (64; narrower vectors are not
        reduced) and rows its restarts run on (None: max(100 * K, 20,000), so smaller sets are used whole). The
        sketch only chooses among restarts; if clusters differ along many more than ``sketch_dim`` directions,
        raise it.
    max_iter, tol : Lloyd's limits (sklearn's defaults, as the paper).
    backend : HDBSCAN implementation. "sklearn" (default): ``sklearn.cluster.HDBSCAN``; new steps go to the
        nearest cluster center, and are noise when farther from it than every fitted member of that cluster.
        "hdbscan": the ``hdbscan`` package, which labels new steps with ``approximate_predict`` (its state
        cannot be saved without pickle: a saved copy falls back to the center rule). "auto": the package when
        installed.
    layer, pool : how step vectors are taken from Trace inputs (``Trace.step_vectors(layer, pool)``);
        ``layer=None`` means each trace's first captured layer, resolved and remembered at fit time.

    Attributes
    ----------
    cluster_centers_ : (n_clusters, d') centers in the clustering space (after ``reduce``). For HDBSCAN, the
        member nearest each cluster's mean (a cheap medoid: an actual step, since density clusters need not be
        convex, in O(n d) rather than a true medoid's O(n^2 d)).
    labels_ : (n_samples,) labels of the fitted steps, after the noise policy.
    inertia_ : sum of squared distances of the fitted steps to their center, in the clustering space (HDBSCAN:
        over non-noise steps only).
    n_clusters_ : clusters found (KMeans: ``k_``). ``k_`` : the K used after clamping (HDBSCAN: ``n_clusters_``).
    n_noise_ : HDBSCAN noise steps among the fitted ones (0 for KMeans).
    algorithm_ : "exact" or "fast" for KMeans, the backend used for HDBSCAN. ``n_iter_``: final Lloyd's iterations.
    radii_ : HDBSCAN only: per cluster, the largest distance of a fitted member to its center.
    pca_components_, pca_mean_ : the PCA reduction (None without one); applied as ``(X - mean) @ components.T``.
    layer_ : the layer used for Trace inputs (None when fitted on arrays). ``n_features_in_``: input dimension.
    """

    def __init__(self, method: str = "kmeans", k: int | str = PAPER_K, n_init: int = 10,
                 random_state: int | None = 0, reduce: str | None = None, noise: str = "own",
                 min_cluster_size: int = 5, min_samples: int | None = None, algorithm: str = "auto",
                 sketch_dim: int = 64, sketch_size: int | None = None, max_iter: int = 300,
                 tol: float = 1e-4, backend: str = "sklearn", layer: int | None = None, pool: str = "mean"):
        self.method = method
        self.k = k
        self.n_init = n_init
        self.random_state = random_state
        self.reduce = reduce
        self.noise = noise
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.algorithm = algorithm
        self.sketch_dim = sketch_dim
        self.sketch_size = sketch_size
        self.max_iter = max_iter
        self.tol = tol
        self.backend = backend
        self.layer = layer
        self.pool = pool

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: None = None) -> "StepClusterer":
        """Fit on step vectors: a (n, d) array, a list of (n_i, d) arrays, or a list of Traces (all stacked).

        Returns
        -------
        self, with ``labels_``, ``cluster_centers_`` and the other fitted attributes set.
        """
        self._check_params()
        X, self.layer_ = _stack_steps(X, self.layer, self.pool)
        if len(X) == 0:
            raise InputError("no steps to cluster (every input had 0 steps)")
        self.n_features_in_ = X.shape[1]
        Xr = self._fit_reduce(X)
        if self.method == "kmeans":
            self._fit_kmeans(Xr)
        else:
            self._fit_hdbscan(Xr)
        return self

    def fit_predict(self, X: Any, y: None = None) -> np.ndarray:
        """Fit, then return ``labels_`` (the fitted steps' labels after the noise policy)."""
        return self.fit(X).labels_

    def predict(self, X: Any) -> np.ndarray:
        """Label new step vectors (n, d) with the fitted clusters: an int64 array, -1 only with ``noise="drop"``.

        KMeans: the nearest center. HDBSCAN: see ``backend``; noise steps then follow the ``noise`` policy.
        """
        check_is_fitted(self, "cluster_centers_")
        X = _check_matrix(X, "X", n_features=self.n_features_in_)
        if len(X) == 0:
            return np.empty(0, dtype=np.int64)
        Xr = self._transform(X)
        if self.method == "kmeans":
            return _nearest(Xr, self.cluster_centers_)[0]
        return self._apply_noise(self._raw_hdbscan_labels(Xr), Xr)

    def label_trace(self, trace: Any) -> np.ndarray:
        """Labels of one Trace's steps (its walk), with the layer and pooling remembered from the fit."""
        layer = self.layer_ if self.layer_ is not None else _resolve_layer(trace, self.layer)
        return self.predict(trace.step_vectors(layer=layer, pool=self.pool))

    def describe(self) -> dict:
        """How the labels were made, as a flat JSON-able dict (callers prefix the keys, e.g. ``cluster_``).

        Metrics report it so a number can be traced to its clustering: the method, K, the KMeans variant or
        HDBSCAN backend, the noise policy (None for KMeans, which has no noise), reduction, layer and pooling.
        """
        check_is_fitted(self, "cluster_centers_")
        is_hdbscan = self.method == "hdbscan"
        return {
            "method": self.method,
            "k": int(self.k_),
            "n_clusters": int(self.n_clusters_),
            "algorithm": self.algorithm_,
            "n_init": None if is_hdbscan else int(self.n_init),
            "random_state": None if self.random_state is None else int(self.random_state),
            "reduce": self.reduce,
            "noise": self.noise if is_hdbscan else None,
            "n_noise": int(self.n_noise_),
            "min_cluster_size": int(self.min_cluster_size) if is_hdbscan else None,
            "predict_rule": self.predict_rule_,
            "layer": None if self.layer_ is None else int(self.layer_),
            "pool": self.pool,
            "n_fit_steps": int(len(self.labels_)),
            "inertia": float(self.inertia_),
        }

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted clusterer to one ``.npz`` (arrays + a JSON header as uint8); never pickles.

        Raises
        ------
        InputError for a UMAP reduction: a fitted UMAP cannot be stored without pickle (refit it, or use
        ``reduce="pca:N"`` for a clusterer that saves).
        """
        check_is_fitted(self, "cluster_centers_")
        if _parse_reduce(self.reduce)[0] == "umap":
            raise InputError("a clusterer with reduce='umap:N' cannot be saved: a fitted UMAP can only be stored "
                             "with pickle, which reasongraph never uses; refit it, or use reduce='pca:N'")
        if self.predict_rule_ == "approximate_predict":
            warnings.warn("the hdbscan package's approximate_predict state cannot be saved without pickle; the "
                          "saved clusterer labels new steps by nearest center and radius instead", stacklevel=2)
        arrays = {"header": _json_bytes(self._header()), "centers": self.cluster_centers_,
                  "labels": self.labels_}
        for name in ("radii_", "pca_components_", "pca_mean_"):
            if getattr(self, name) is not None:
                arrays[name.rstrip("_")] = getattr(self, name)
        path = Path(path)
        with open(path, "wb") as f:
            np.savez(f, **arrays)
        return path

    def _header(self) -> dict:
        fitted = {name: getattr(self, name) for name in _SAVED_ATTRIBUTES}
        fitted["inertia_"] = float(self.inertia_)
        fitted["predict_rule_"] = "nearest_center"  # what a loaded clusterer uses, whatever the backend
        return {"format": _FORMAT, "version": _FORMAT_VERSION, "params": self.get_params(), "fitted": fitted}

    # ------------------------------------------------------------------ internals
    def _check_params(self) -> None:
        _check_choice("method", self.method, _METHODS)
        _check_choice("algorithm", self.algorithm, _ALGORITHMS)
        _check_choice("noise", self.noise, _NOISE)
        _check_choice("backend", self.backend, _BACKENDS)
        _check_choice("pool", self.pool, _POOLS)
        _parse_reduce(self.reduce)
        if not (self.k == "auto" or _is_int(self.k) and self.k >= 1):
            raise InputError(f"k must be a positive integer or 'auto', got {self.k!r}")
        if not (self.sketch_size is None or _is_int(self.sketch_size) and self.sketch_size >= 1):
            raise InputError(f"sketch_size must be a positive integer or None, got {self.sketch_size!r}")
        for name in ("n_init", "max_iter", "sketch_dim"):
            if not (_is_int(getattr(self, name)) and getattr(self, name) >= 1):
                raise InputError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not (self.min_samples is None or _is_int(self.min_samples) and self.min_samples >= 1):
            raise InputError(f"min_samples must be a positive integer or None, got {self.min_samples!r}")
        if not (_is_int(self.min_cluster_size) and self.min_cluster_size >= 2):
            raise InputError(f"min_cluster_size must be an integer >= 2, got {self.min_cluster_size!r}")
        if not (self.random_state is None or _is_int(self.random_state)):
            raise InputError(f"random_state must be an int or None (it is saved as JSON), got "
                             f"{type(self.random_state).__name__}")

    def _fit_reduce(self, X: np.ndarray) -> np.ndarray:
        kind, n = _parse_reduce(self.reduce)
        self.pca_components_ = self.pca_mean_ = None
        self._umap = None
        if kind is None:
            return X
        n = _clamp(n, min(X.shape), "reduce dimensions", "min(steps, features)")
        if kind == "pca":
            pca = PCA(n_components=n, random_state=self.random_state).fit(X)
            self.pca_components_ = pca.components_.astype(np.float32)
            self.pca_mean_ = pca.mean_.astype(np.float32)
            return self._transform(X)
        self._umap = _fit_umap(X, n, self.random_state)
        return np.asarray(self._umap.embedding_, dtype=np.float32)

    def _transform(self, X: np.ndarray) -> np.ndarray:
        # PCA is applied from the stored arrays (not sklearn's object) so a loaded clusterer computes bit-for-bit
        # the same reduction as the fitted one.
        if self.pca_components_ is not None:
            return (X - self.pca_mean_) @ self.pca_components_.T
        if getattr(self, "_umap", None) is not None:
            return np.asarray(self._umap.transform(X), dtype=np.float32)
        return X

    def _fit_kmeans(self, X: np.ndarray) -> None:
        n = len(X)
        k = k_for_steps(n) if self.k == "auto" else _clamp(int(self.k), n, "K", "the number of steps")
        algorithm = self.algorithm if self.algorithm != "auto" else ("exact" if n <= EXACT_MAX_STEPS else "fast")
        if algorithm == "exact":
            km = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state,
                        max_iter=self.max_iter, tol=self.tol).fit(X)
            centers, self.n_iter_, self.sketch_dim_ = km.cluster_centers_, int(km.n_iter_), None
        else:
            centers, self.n_iter_, self.sketch_dim_ = _fast_kmeans(
                X, k, self.n_init, self.random_state, self.max_iter, self.tol, self.sketch_dim,
                self.sketch_size or max(100 * k, 20_000))
        self.cluster_centers_ = np.asarray(centers, dtype=np.float32)
        self.labels_, sq = _nearest(X, self.cluster_centers_)
        self.inertia_ = float(sq.sum())
        self.k_ = self.n_clusters_ = k
        self.n_noise_ = 0
        self.algorithm_ = algorithm
        self.predict_rule_ = "nearest_center"
        self.radii_ = self._hdbscan_model = None

    def _fit_hdbscan(self, X: np.ndarray) -> None:
        min_samples = self.min_samples or self.min_cluster_size
        if len(X) < max(min_samples, self.min_cluster_size):
            raise InputError(f"HDBSCAN needs at least min_cluster_size={self.min_cluster_size} and "
                             f"min_samples={min_samples} steps, got {len(X)}")
        raw, model, backend = _run_hdbscan(X, self.min_cluster_size, self.min_samples, self.backend)
        self.n_clusters_ = self.k_ = int(raw.max()) + 1 if (raw >= 0).any() else 0
        self.n_noise_ = int((raw < 0).sum())
        if self.n_clusters_ == 0 and self.noise == "nearest":
            raise InputError(f"HDBSCAN found no cluster (all {len(X)} steps are noise), so noise='nearest' has "
                             f"nothing to assign to; lower min_cluster_size or use noise='own' or 'drop'")
        self.cluster_centers_, self.radii_ = _cluster_centers(X, raw, self.n_clusters_)
        self._hdbscan_model = model
        self.algorithm_ = backend
        self.predict_rule_ = "approximate_predict" if model is not None else "nearest_center"
        self.n_iter_ = 0
        self.sketch_dim_ = None
        kept = raw >= 0
        diff = X[kept].astype(np.float64) - self.cluster_centers_[raw[kept]]
        self.inertia_ = float(np.einsum("ij,ij->", diff, diff))
        self.labels_ = self._apply_noise(raw, X)

    def _raw_hdbscan_labels(self, X: np.ndarray) -> np.ndarray:
        """HDBSCAN labels of new steps before the noise policy (-1 = noise)."""
        if self.n_clusters_ == 0:
            return np.full(len(X), -1, dtype=np.int64)
        if getattr(self, "_hdbscan_model", None) is not None:
            import hdbscan

            labels, _ = hdbscan.approximate_predict(self._hdbscan_model, X.astype(np.float64))
            return np.asarray(labels, dtype=np.int64)
        labels, sq = _nearest(X, self.cluster_centers_)
        # the tolerance keeps a fitted member at exactly the radius inside despite float rounding
        labels[np.sqrt(sq) > self.radii_[labels] * (1 + 1e-6)] = -1
        return labels

    def _apply_noise(self, raw: np.ndarray, X: np.ndarray) -> np.ndarray:
        labels = np.where(raw < 0, -1, raw).astype(np.int64)
        noise = labels < 0
        if not noise.any() or self.noise == "drop":
            return labels
        if self.noise == "own":
            labels[noise] = self.n_clusters_ + np.arange(int(noise.sum()))
        else:
            labels[noise] = _nearest(X[noise], self.cluster_centers_)[0]
        return labels


# ---------------------------------------------------------------------- module-level API
def fit_clusterer(traces: Any, method: str = "kmeans", k: int | str = PAPER_K, layer: int | None = None,
                  pool: str = "mean", **params: Any) -> StepClusterer:
    """Fit one clusterer over all steps of a set of traces (dataset level, as the paper), to label each later.

    Parameters
    ----------
    traces : a list of Traces (their ``step_vectors(layer, pool)``), a list of (n_i, d) arrays, or one (n, d)
        array.
    method, k, layer, pool, **params : see :class:`StepClusterer`.

    Returns
    -------
    The fitted :class:`StepClusterer`; ``clusterer.label_trace(trace)`` gives a trace's walk.
    """
    return StepClusterer(method=method, k=k, layer=layer, pool=pool, **params).fit(traces)


def load_clusterer(path: str | Path) -> StepClusterer:
    """Read a clusterer written by :meth:`StepClusterer.save`; its ``predict`` labels exactly as the saved one's.

    Never unpickles. A file that is not a clusterer raises InputError (a ValueError) naming the path.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such clusterer file")
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode("utf-8"))
            arrays = {name: z[name] for name in z.files if name != "header"}
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a reasongraph clusterer file ({e})") from None
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        raise InputError(f"{path}: not a reasongraph clusterer file")
    if header.get("version", 0) > _FORMAT_VERSION:
        raise InputError(f"{path}: clusterer format version {header['version']} is newer than this reasongraph "
                         f"reads ({_FORMAT_VERSION}); upgrade reasongraph")
    missing = {"centers", "labels"} - set(arrays)
    if missing or not isinstance(header.get("params"), dict) or not isinstance(header.get("fitted"), dict):
        raise InputError(f"{path}: damaged reasongraph clusterer file (missing {sorted(missing) or 'header fields'})")
    try:
        clu = StepClusterer(**header["params"])
    except TypeError as e:
        raise InputError(f"{path}: clusterer parameters this reasongraph does not know ({e})") from None
    for name in _SAVED_ATTRIBUTES:
        setattr(clu, name, header["fitted"].get(name))
    clu.cluster_centers_ = arrays["centers"]
    clu.labels_ = arrays["labels"].astype(np.int64)
    clu.radii_ = arrays.get("radii")
    clu.pca_components_ = arrays.get("pca_components")
    clu.pca_mean_ = arrays.get("pca_mean")
    return clu


# ---------------------------------------------------------------------- helpers
def _fast_kmeans(X: np.ndarray, k: int, n_init: int, random_state: int | None, max_iter: int, tol: float,
                 sketch_dim: int, sketch_size: int) -> tuple[np.ndarray, int, int | None]:
    """KMeans(k, n_init) on a PCA sketch of a subsample, then Lloyd on all of X from the winning partition.

    Returns the (k, d) centers, the number of final Lloyd iterations and the sketch's dimension (None: none).
    """
    rng = np.random.default_rng(random_state)
    n = len(X)
    sample = np.sort(rng.choice(n, sketch_size, replace=False)) if sketch_size < n else np.arange(n)
    project, used_dim = _sketch(X[sample], sketch_dim, random_state)
    km = KMeans(n_clusters=k, n_init=n_init, random_state=random_state, max_iter=max_iter, tol=tol)
    km.fit(project(X[sample]))
    if len(sample) < n:
        km = KMeans(n_clusters=k, init=km.cluster_centers_, n_init=1, max_iter=max_iter, tol=tol).fit(project(X))
    init = _centers_of(X, km.labels_, k, rng)
    final = KMeans(n_clusters=k, init=init, n_init=1, max_iter=max_iter, tol=tol).fit(X)
    return final.cluster_centers_, int(final.n_iter_), used_dim


def _sketch(S: np.ndarray, dim: int, random_state: int | None) -> tuple[Any, int | None]:
    """A projection onto the top ``dim`` principal components of S, and ``dim`` (None: identity, S is narrower)."""
    dim = min(dim, *S.shape)
    if dim >= S.shape[1]:
        return (lambda X: X), None
    pca = PCA(n_components=dim, svd_solver="randomized", random_state=random_state).fit(S)
    return (lambda X: pca.transform(X).astype(np.float32)), dim


def _centers_of(X: np.ndarray, labels: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Mean of each label's rows; an empty label gets a random row so Lloyd can move it."""
    n = len(X)
    # a sparse (k, n) membership matrix sums the rows per label in one pass (np.add.at is ~10x slower)
    members = csr_matrix((np.ones(n, dtype=X.dtype), (labels, np.arange(n))), shape=(k, n))
    counts = np.bincount(labels, minlength=k)
    centers = np.asarray(members @ X) / np.maximum(counts, 1)[:, None]
    empty = counts == 0
    centers[empty] = X[rng.integers(n, size=int(empty.sum()))]
    return centers.astype(X.dtype)


def _nearest(X: np.ndarray, centers: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest center per row and the squared distance to it, in float64, in row chunks.

    Ties go to the lowest index; the result depends only on the two arrays, which is what makes a saved and
    reloaded clusterer label identically.
    """
    C = np.asarray(centers, dtype=np.float64)
    c_sq = np.einsum("ij,ij->i", C, C)
    labels = np.empty(len(X), dtype=np.int64)
    sq = np.empty(len(X), dtype=np.float64)
    for start in range(0, len(X), chunk):
        x = np.asarray(X[start:start + chunk], dtype=np.float64)
        d = np.einsum("ij,ij->i", x, x)[:, None] - 2.0 * (x @ C.T) + c_sq
        j = d.argmin(axis=1)
        labels[start:start + chunk] = j
        sq[start:start + chunk] = np.maximum(d[np.arange(len(x)), j], 0.0)
    return labels, sq


def _cluster_centers(X: np.ndarray, raw: np.ndarray, n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Per HDBSCAN cluster: the member nearest the mean, and the largest member distance to it."""
    centers = np.empty((n_clusters, X.shape[1]), dtype=np.float32)
    radii = np.empty(n_clusters, dtype=np.float64)
    for c in range(n_clusters):
        members = X[raw == c].astype(np.float64)
        center = members[np.argmin(((members - members.mean(axis=0)) ** 2).sum(axis=1))]
        centers[c] = center
        radii[c] = np.sqrt(((members - centers[c]) ** 2).sum(axis=1).max())
    return centers, radii


def _run_hdbscan(X: np.ndarray, min_cluster_size: int, min_samples: int | None,
                 backend: str) -> tuple[np.ndarray, Any, str]:
    """Raw HDBSCAN labels (-1 = noise), the package's model (None for sklearn's) and the backend used."""
    if backend == "auto":
        backend = "hdbscan" if _has_module("hdbscan") else "sklearn"
    if backend == "sklearn":
        model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, copy=True).fit(X)
        return np.where(model.labels_ < 0, -1, model.labels_).astype(np.int64), None, "sklearn"
    try:
        import hdbscan
    except ImportError:
        raise InputError("backend='hdbscan' needs the hdbscan package: pip install 'reasongraph[hdbscan]'") from None
    model = hdbscan.HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples,
                            prediction_data=True).fit(X.astype(np.float64))
    return np.asarray(model.labels_, dtype=np.int64), model, "hdbscan"


def _fit_umap(X: np.ndarray, n_components: int, random_state: int | None) -> Any:
    try:
        import umap
    except ImportError:
        raise InputError("reduce='umap:N' needs umap-learn: pip install 'reasongraph[umap]'") from None
    if len(X) < 3:
        raise InputError(f"UMAP needs at least 3 steps, got {len(X)}")
    print(f"reasongraph: reducing {len(X)} steps to {n_components} dimensions with UMAP (its first call in a "
          f"process compiles code with numba: expect tens of seconds)", file=sys.stderr, flush=True)
    model = umap.UMAP(n_components=n_components, n_neighbors=min(15, len(X) - 1), random_state=random_state)
    return model.fit(X)


def _stack_steps(X: Any, layer: int | None, pool: str) -> tuple[np.ndarray, int | None]:
    """One float32 (n, d) matrix from an array, a list of arrays or a list of Traces; and the layer used."""
    if isinstance(X, (list, tuple)) and X and all(hasattr(x, "step_vectors") for x in X):
        layers = {_resolve_layer(tr, layer) for tr in X}
        if len(layers) > 1:
            raise InputError(f"the traces' first captured layers differ ({sorted(layers, key=str)}); pass layer=")
        used = layers.pop()
        parts = [_check_matrix(tr.step_vectors(layer=used, pool=pool), "step vectors") for tr in X]
        return _concat(parts), used
    if isinstance(X, (list, tuple)) and X and all(isinstance(x, np.ndarray) and x.ndim == 2 for x in X):
        return _concat([_check_matrix(x, f"array {i}") for i, x in enumerate(X)]), None
    return _check_matrix(X, "X"), None


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    widths = {p.shape[1] for p in parts}
    if len(widths) > 1:
        raise InputError(f"step vectors of different widths cannot be clustered together: {sorted(widths)}")
    return np.concatenate(parts, axis=0)


def _resolve_layer(trace: Any, layer: int | None) -> int | None:
    if layer is not None:
        return layer
    layers = tuple(getattr(trace, "layers", ()) or ())
    return int(layers[0]) if layers else None


def _check_matrix(X: Any, what: str, n_features: int | None = None) -> np.ndarray:
    """X as a finite float32 (n, d) array, or a clear error naming what was wrong."""
    try:
        arr = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise InputError(f"{what} must be a numeric (n_steps, dim) array ({e})") from None
    if arr.ndim != 2:
        raise InputError(f"{what} must be 2-D (n_steps, dim), got shape {arr.shape}")
    if n_features is not None and arr.shape[1] != n_features:
        raise InputError(f"{what} has {arr.shape[1]} features, but the clusterer was fitted on {n_features}")
    if not np.isfinite(arr).all():
        raise InputError(f"{what} holds NaN or infinite values (overflowed hidden states?); clean them first")
    return arr


def _parse_reduce(reduce: str | None) -> tuple[str | None, int]:
    if reduce is None:
        return None, 0
    kind, _, n = str(reduce).partition(":")
    if kind not in ("pca", "umap") or not n.isdigit() or int(n) < 1:
        raise InputError(f"reduce must be None, 'pca:N' or 'umap:N' with N a positive integer, got {reduce!r}")
    return kind, int(n)


def _clamp(value: int, limit: int, what: str, limit_name: str) -> int:
    if value > limit:
        warnings.warn(f"{what}={value} is more than {limit_name} ({limit}); using {what}={limit}", stacklevel=4)
        return limit
    return value


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _has_module(name: str) -> bool:
    from importlib.util import find_spec

    return find_spec(name) is not None


def _json_bytes(obj: dict) -> np.ndarray:
    def plain(value: Any) -> Any:
        if isinstance(value, np.generic):
            return value.item()
        raise TypeError(f"{type(value).__name__} is not JSON-serializable")

    return np.frombuffer(json.dumps(obj, default=plain).encode("utf-8"), dtype=np.uint8)
