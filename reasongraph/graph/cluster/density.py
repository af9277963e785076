"""HDBSCAN for step vectors: the two backends, cluster centers and radii, labels of new steps, noise policies.

HDBSCAN finds its own number of clusters and leaves some steps as noise (-1). A noise step is not a node of the
reasoning graph yet; the ``noise`` policy decides what it becomes ("own", "nearest" or "drop", see
:func:`apply_noise`). New steps are labeled by the nearest cluster center, and are noise when farther from it
than every fitted member of that cluster, unless the ``hdbscan`` package's own ``approximate_predict`` is at hand.
"""
from __future__ import annotations

from importlib.util import find_spec
from typing import Any

import numpy as np
from sklearn.cluster import HDBSCAN

from reasongraph.core.errors import InputError
from reasongraph.graph.cluster.kmeans import nearest

NOISE_POLICIES = ("own", "nearest", "drop")
BACKENDS = ("sklearn", "hdbscan", "auto")


def run_hdbscan(X: np.ndarray, min_cluster_size: int, min_samples: int | None,
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


def cluster_centers(X: np.ndarray, raw: np.ndarray, n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Per HDBSCAN cluster: the member nearest the mean, and the largest member distance to it.

    The member nearest the mean is a cheap medoid: an actual step, since density clusters need not be convex,
    in O(n d) rather than a true medoid's O(n^2 d).
    """
    centers = np.empty((n_clusters, X.shape[1]), dtype=np.float32)
    radii = np.empty(n_clusters, dtype=np.float64)
    for c in range(n_clusters):
        members = X[raw == c].astype(np.float64)
        center = members[np.argmin(((members - members.mean(axis=0)) ** 2).sum(axis=1))]
        centers[c] = center
        radii[c] = np.sqrt(((members - centers[c]) ** 2).sum(axis=1).max())
    return centers, radii


def clustered_inertia(X: np.ndarray, raw: np.ndarray, centers: np.ndarray) -> float:
    """Sum of squared distances of the non-noise steps to their cluster's center, in float64."""
    kept = raw >= 0
    diff = X[kept].astype(np.float64) - centers[raw[kept]]
    return float(np.einsum("ij,ij->", diff, diff))


def predict_raw(X: np.ndarray, centers: np.ndarray, radii: np.ndarray, model: Any = None) -> np.ndarray:
    """HDBSCAN labels of new steps before the noise policy (-1 = noise).

    With the ``hdbscan`` package's fitted ``model``: its ``approximate_predict``. Otherwise the nearest center,
    or noise when the step is farther from it than that cluster's radius.
    """
    if len(centers) == 0:
        return np.full(len(X), -1, dtype=np.int64)
    if model is not None:
        import hdbscan

        labels, _ = hdbscan.approximate_predict(model, X.astype(np.float64))
        return np.asarray(labels, dtype=np.int64)
    labels, sq = nearest(X, centers)
    # the tolerance keeps a fitted member at exactly the radius inside despite float rounding
    labels[np.sqrt(sq) > radii[labels] * (1 + 1e-6)] = -1
    return labels


def apply_noise(raw: np.ndarray, X: np.ndarray, policy: str, centers: np.ndarray) -> np.ndarray:
    """Labels after the noise policy, as int64.

    "own": each noise step is its own new node (ids from ``len(centers)`` up, unique within one call), so it can
    never be a revisit; "nearest": the cluster with the nearest center; "drop": label -1, which the graph
    builder skips.
    """
    labels = np.where(raw < 0, -1, raw).astype(np.int64)
    noise = labels < 0
    if not noise.any() or policy == "drop":
        return labels
    if policy == "own":
        labels[noise] = len(centers) + np.arange(int(noise.sum()))
    else:
        labels[noise] = nearest(X[noise], centers)[0]
    return labels


def _has_module(name: str) -> bool:
    return find_spec(name) is not None
