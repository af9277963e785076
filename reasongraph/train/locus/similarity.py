"""How much two models' hidden states at one layer differ, over the same tokens: linear CKA, the normalized
Procrustes residual, k-NN overlap and spectral entropy (science.md, "Why it collapses at the token level").

Each takes (n_tokens, d) matrices whose row i is token i in both, and works in float64. CKA and the Procrustes
residual are invariant to a rotation and a global scale of either space (they are 1 and 0 for Y = cXR with R
orthogonal, c > 0); k-NN overlap compares neighbourhoods, so it is invariant to any distance-preserving map.
These are the HRSA measures (arXiv 2601.21192): after RL they stay high if RL left the geometry intact.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from reasongraph.trace.hidden.effective_rank import effective_rank
from reasongraph.train.locus.options import LocusOptions

__all__ = ["KNN_CHUNK", "knn_overlap", "linear_cka", "procrustes_residual", "similarity_profile", "spectral_entropy"]

KNN_CHUNK = 512  # rows of the distance matrix held at once: 512 x 4,096 float64 is 16 MiB


def _pair(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise ValueError(f"X and Y must be (n_tokens, d) matrices over the same tokens, got {X.shape} and {Y.shape}")
    return X, Y


def _centered(X: np.ndarray) -> np.ndarray:
    return X - X.mean(axis=0)


def linear_cka(X: np.ndarray, Y: np.ndarray) -> float:
    """Linear CKA (Kornblith et al. 2019): ||Yᵀ X||_F² / (||Xᵀ X||_F ||Yᵀ Y||_F), columns centered.

    Computed with d x d matrices, or with the n x n Gram matrices when there are fewer tokens than dimensions
    (||Yᵀ X||_F² = tr(XXᵀ YYᵀ)): the same number, the cheaper way. NaN when either matrix has no variance.
    Check: X = [[1,0,0],[0,2,0],[0,0,3],[1,1,1]], Y = [[1,2,0],[0,1,0],[3,0,1],[0,1,2]] give 0.875909.
    """
    X, Y = _pair(X, Y)
    X, Y = _centered(X), _centered(Y)
    if len(X) < max(X.shape[1], Y.shape[1]):
        kx, ky = X @ X.T, Y @ Y.T
        cross, nx, ny = float((kx * ky).sum()), float(np.linalg.norm(kx)), float(np.linalg.norm(ky))
    else:
        cross = float(np.linalg.norm(Y.T @ X) ** 2)
        nx, ny = float(np.linalg.norm(X.T @ X)), float(np.linalg.norm(Y.T @ Y))
    return cross / (nx * ny) if nx > 0 and ny > 0 else math.nan


def procrustes_residual(X: np.ndarray, Y: np.ndarray) -> float:
    """The normalized orthogonal Procrustes residual: min over orthogonal R of ||XR - Y||_F² after centering
    both and scaling each to unit Frobenius norm, which is 2 - 2 ||Xᵀ Y||_* (the nuclear norm).

    In [0, 2]; 0 for Y = cXR. With fewer tokens than dimensions the singular values of Xᵀ Y are taken from the
    n x n product of the two thin QR factors (the same values, the cheaper way). NaN when either matrix has no
    variance. Check on the CKA example: 0.187304.
    """
    X, Y = _pair(X, Y)
    X, Y = _centered(X), _centered(Y)
    nx, ny = float(np.linalg.norm(X)), float(np.linalg.norm(Y))
    if nx == 0 or ny == 0:
        return math.nan
    X, Y = X / nx, Y / ny
    if len(X) < max(X.shape[1], Y.shape[1]):
        rx, ry = np.linalg.qr(X.T, mode="r"), np.linalg.qr(Y.T, mode="r")
        cross = rx @ ry.T
    else:
        cross = X.T @ Y
    return float(max(0.0, 2.0 - 2.0 * np.linalg.svd(cross, compute_uv=False).sum()))


def _neighbours(X: np.ndarray, k: int) -> np.ndarray:
    """(n, k) indices of each row's k nearest other rows (Euclidean), in row chunks of :data:`KNN_CHUNK`."""
    sq = (X * X).sum(axis=1)
    out = np.empty((len(X), k), dtype=np.int64)
    for a in range(0, len(X), KNN_CHUNK):
        b = min(a + KNN_CHUNK, len(X))
        d = sq[a:b, None] - 2.0 * (X[a:b] @ X.T) + sq[None, :]
        d[np.arange(b - a), np.arange(a, b)] = np.inf  # a token is not its own neighbour
        out[a:b] = np.argpartition(d, k - 1, axis=1)[:, :k]
    return out


def knn_overlap(X: np.ndarray, Y: np.ndarray, *, k: int = LocusOptions.k) -> float:
    """Mean over tokens of the share of a token's k nearest neighbours (Euclidean, itself excluded) that are the
    same in X's space and in Y's.

    1 when the neighbourhoods agree; about k / (n - 1) for unrelated spaces. Ties in distance (repeated rows, as
    the embeddings of repeated tokens) are broken arbitrarily but alike for equal inputs. NaN with k + 1 or fewer
    tokens.
    """
    X, Y = _pair(X, Y)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a whole number >= 1, got {k!r}")
    if len(X) <= k + 1:
        return math.nan
    nx, ny = _neighbours(X, int(k)), _neighbours(Y, int(k))
    shared = (nx[:, :, None] == ny[:, None, :]).any(axis=2).sum(axis=1)
    return float(shared.mean() / k)


def spectral_entropy(X: np.ndarray) -> float:
    """Spectral entropy in nats: -sum p_i ln p_i over p = s / sum(s), s the singular values of X with its mean row
    removed (float64); the log of the centered effective rank, bounded by ln(min(n - 1, d)).

    Scale-invariant: it measures how many directions the tokens spread over, not how far. NaN for fewer than two
    distinct rows. Check: [[1,0,0],[0,2,0],[0,0,3],[1,1,1]] gives 0.955816 (erank 2.600793).
    """
    erank = effective_rank(np.asarray(X, dtype=np.float64), center=True)
    return math.log(erank) if math.isfinite(erank) else math.nan


def similarity_profile(layers: Iterable[tuple[np.ndarray, np.ndarray]], *, k: int = LocusOptions.k
                       ) -> dict[str, list[float]]:
    """Per layer, from (A's states, B's states) on the same tokens: cka, procrustes, knn_overlap,
    spectral_entropy_A and spectral_entropy_B (NaN where fewer than two tokens). ``layers`` may be a generator,
    so that one layer of each model is in memory at a time."""
    out: dict[str, list[float]] = {key: [] for key in ("cka", "procrustes", "knn_overlap", "spectral_entropy_A",
                                                       "spectral_entropy_B")}
    for xa, xb in layers:
        ok = len(xa) >= 2
        out["cka"].append(linear_cka(xa, xb) if ok else math.nan)
        out["procrustes"].append(procrustes_residual(xa, xb) if ok else math.nan)
        out["knn_overlap"].append(knn_overlap(xa, xb, k=k))
        out["spectral_entropy_A"].append(spectral_entropy(xa) if ok else math.nan)
        out["spectral_entropy_B"].append(spectral_entropy(xb) if ok else math.nan)
    return out
