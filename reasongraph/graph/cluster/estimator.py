"""StepClusterer: the scikit-learn estimator that turns step vectors into the node labels of reasoning graphs.

It validates its parameters (:mod:`.inputs`), reduces the vectors if asked (:mod:`.reduction`), clusters them
with KMeans (:mod:`.kmeans`) or HDBSCAN (:mod:`.density`), labels new steps and Traces, and describes how its
labels were made. Saving and loading live in :mod:`.saved`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted

from reasongraph.core.errors import InputError, opt
from reasongraph.core.npz_format import damaged
from reasongraph.graph.cluster import density, saved as io
from reasongraph.graph.cluster.inputs import check_matrix, check_params, clamp, resolve_layer, stack_steps
from reasongraph.graph.cluster.kmeans import PAPER_K, k_for_steps, kmeans_centers, nearest, resolve_algorithm
from reasongraph.graph.cluster.options import ClusterOptions
from reasongraph.graph.cluster.reduction import fit_pca, fit_umap, parse_reduce


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
        with the clusterer; UMAP (umap-learn, imported only when asked for) cannot be saved without pickle.
    noise : what HDBSCAN's noise steps become. "own": each noise step is its own new node (ids from
        ``n_clusters_`` up, unique within one call), so it can never be a revisit; "nearest": the cluster
        with the nearest center; "drop": label -1, which the graph builder skips.
    min_cluster_size, min_samples : HDBSCAN's parameters.
    algorithm : KMeans variant. "exact": ``sklearn.cluster.KMeans(K, n_init=n_init, random_state=...)`` on the
        vectors, the paper's call. "fast": the same estimator on a PCA sketch of a subsample, then Lloyd
        iterations on all vectors (see :mod:`reasongraph.graph.cluster.kmeans`; same or lower inertia, many times
        faster). "auto" (default): "exact" up to ``EXACT_MAX_STEPS`` = 2000 steps (single traces and small sets, where
        it costs seconds), "fast" above.
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

    def __init__(self, method: str = ClusterOptions.method, k: int | str = PAPER_K, n_init: int = 10,
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
        check_params(self.get_params())
        X, self.layer_ = stack_steps(X, self.layer, self.pool)
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
        X = check_matrix(X, "X", n_features=self.n_features_in_)
        if len(X) == 0:
            return np.empty(0, dtype=np.int64)
        Xr = self._transform(X)
        if self.method == "kmeans":
            return nearest(Xr, self.cluster_centers_)[0]
        raw = density.predict_raw(Xr, self.cluster_centers_, self.radii_, getattr(self, "_hdbscan_model", None))
        return density.apply_noise(raw, Xr, self.noise, self.cluster_centers_)

    def label_trace(self, trace: Any) -> np.ndarray:
        """Labels of one Trace's steps (its walk), with the layer and pooling remembered from the fit."""
        layer = self.layer_ if self.layer_ is not None else resolve_layer(trace, self.layer)
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
    @classmethod
    def load(cls, path: str | Path) -> "StepClusterer":
        """Read a clusterer written by :meth:`save` (the same as :func:`load_clusterer`)."""
        return load_clusterer(path)

    def save(self, path: str | Path) -> Path:
        """Write the fitted clusterer to one ``.npz`` (arrays + a JSON header); never pickles.

        Raises
        ------
        InputError for a UMAP reduction: a fitted UMAP cannot be stored without pickle (refit it, or use
        ``reduce="pca:N"`` for a clusterer that saves).
        """
        return io.save_clusterer(self, path)

    # ------------------------------------------------------------------ internals
    def _fit_reduce(self, X: np.ndarray) -> np.ndarray:
        kind, n = parse_reduce(self.reduce)
        self.pca_components_ = self.pca_mean_ = None
        self._umap = None
        if kind is None:
            return X
        n = clamp(n, min(X.shape), "reduce dimensions", "min(steps, features)")
        if kind == "pca":
            self.pca_components_, self.pca_mean_ = fit_pca(X, n, self.random_state)
            return self._transform(X)
        self._umap = fit_umap(X, n, self.random_state)
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
        k = k_for_steps(n) if self.k == "auto" else clamp(int(self.k), n, "K", "the number of steps")
        algorithm = resolve_algorithm(self.algorithm, n)
        self.cluster_centers_, self.n_iter_, self.sketch_dim_ = kmeans_centers(
            X, k, algorithm=algorithm, n_init=self.n_init, random_state=self.random_state, max_iter=self.max_iter,
            tol=self.tol, sketch_dim=self.sketch_dim, sketch_size=self.sketch_size)
        self.labels_, sq = nearest(X, self.cluster_centers_)
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
        raw, model, backend = density.run_hdbscan(X, self.min_cluster_size, self.min_samples, self.backend)
        self.n_clusters_ = self.k_ = int(raw.max()) + 1 if (raw >= 0).any() else 0
        self.n_noise_ = int((raw < 0).sum())
        if self.n_clusters_ == 0 and self.noise == "nearest":
            raise InputError(f"HDBSCAN found no cluster (all {len(X)} steps are noise), so noise='nearest' has "
                             f"nothing to assign to; lower min_cluster_size or use noise='own' or 'drop'")
        self.cluster_centers_, self.radii_ = density.cluster_centers(X, raw, self.n_clusters_)
        self._hdbscan_model = model
        self.algorithm_ = backend
        self.predict_rule_ = "approximate_predict" if model is not None else "nearest_center"
        self.n_iter_ = 0
        self.sketch_dim_ = None
        self.inertia_ = density.clustered_inertia(X, raw, self.cluster_centers_)
        self.labels_ = density.apply_noise(raw, X, self.noise, self.cluster_centers_)


def fit_clusterer(traces: Any, method: str = ClusterOptions.method, k: int | str = PAPER_K, layer: int | None = None,
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

    Never unpickles. A file that is missing, damaged or not a clusterer raises InputError (a ValueError) naming
    the path and the problem.
    """
    params, fitted, arrays = io.read_clusterer(path)
    try:
        clu = StepClusterer(**params)
        check_params(clu.get_params())
    except TypeError as e:
        raise InputError(f"{path}: clusterer parameters this reasongraph does not know ({e})") from None
    except InputError as e:
        raise damaged(path, "clusterer", f"its parameters are invalid ({e})") from None
    return io.restore(clu, fitted, arrays, path)


def check_clusterer(name: str, clusterer: Any) -> Any:
    """A fitted clusterer: the object itself (anything with ``label_trace``), or one loaded from a path.

    An unfitted :class:`~reasongraph.graph.cluster.estimator.StepClusterer` is refused here rather than failing on
    every trace.
    """
    if isinstance(clusterer, (str, os.PathLike)):
        return load_clusterer(clusterer)
    if not callable(getattr(clusterer, "label_trace", None)):
        raise InputError(f"{opt(name)} must be a fitted clusterer (a StepClusterer, or a path to one saved by a "
                         f"score run), got {type(clusterer).__name__}")
    if isinstance(clusterer, StepClusterer) and not hasattr(clusterer, "cluster_centers_"):
        raise InputError(f"{opt(name)} is not fitted yet: call its fit method first")
    return clusterer
