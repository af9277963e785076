"""KMeans for step vectors: the paper's K, its exact call, a fast equivalent, and nearest-center labels.

The Topology of Reasoning paper fits ``KMeans(n_clusters=200, n_init=10, random_state=0)`` once over the raw
float32 step vectors of all samples of one (model, dataset, layer). :func:`kmeans_centers` runs that call
(``"exact"``) or a much faster KMeans whose inertia matches or beats it on dataset-scale fits (``"fast"``).

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

from typing import Any, Callable

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from reasongraph.core.errors import InputError

PAPER_K = 200
EXACT_MAX_STEPS = 2000  # algorithm="auto" runs the paper's exact call up to this many steps


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


def resolve_algorithm(algorithm: str, n_steps: int) -> str:
    """``"exact"`` or ``"fast"``: ``"auto"`` is exact up to :data:`EXACT_MAX_STEPS` steps, where it costs seconds."""
    if algorithm != "auto":
        return algorithm
    return "exact" if n_steps <= EXACT_MAX_STEPS else "fast"


def kmeans_centers(X: np.ndarray, k: int, *, algorithm: str, n_init: int, random_state: int | None,
                   max_iter: int, tol: float, sketch_dim: int,
                   sketch_size: int | None) -> tuple[np.ndarray, int, int | None]:
    """KMeans centers of X by the ``"exact"`` paper call or the ``"fast"`` sketch (see the module notes).

    Returns
    -------
    centers : (k, d) float32.
    n_iter : Lloyd's iterations of the final fit.
    sketch_dim : the fast sketch's dimension (None for "exact", or when X was narrower than ``sketch_dim``).
    """
    if algorithm == "exact":
        km = KMeans(n_clusters=k, n_init=n_init, random_state=random_state, max_iter=max_iter, tol=tol).fit(X)
        centers, n_iter, used_dim = km.cluster_centers_, int(km.n_iter_), None
    else:
        centers, n_iter, used_dim = fast_kmeans(X, k, n_init, random_state, max_iter, tol, sketch_dim,
                                                sketch_size or max(100 * k, 20_000))
    return np.asarray(centers, dtype=np.float32), n_iter, used_dim


def fast_kmeans(X: np.ndarray, k: int, n_init: int, random_state: int | None, max_iter: int, tol: float,
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


def _sketch(S: np.ndarray, dim: int, random_state: int | None) -> tuple[Callable[[Any], Any], int | None]:
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


def nearest(X: np.ndarray, centers: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
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
