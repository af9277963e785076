"""The optional reduction before clustering: ``reduce="pca:N"`` (saved with the clusterer) or ``"umap:N"``.

PCA is kept as two arrays and applied as ``(X - mean) @ components.T`` rather than through sklearn's object, so a
saved and reloaded clusterer reduces bit-for-bit like the fitted one. A fitted UMAP can only be stored with
pickle, which reasongraph never uses, so a clusterer with a UMAP reduction cannot be saved.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.decomposition import PCA

from reasongraph.core.errors import InputError

log = logging.getLogger("reasongraph")


def parse_reduce(reduce: str | None) -> tuple[str | None, int]:
    """``("pca" | "umap", N)`` from ``"pca:N"`` or ``"umap:N"``; ``(None, 0)`` for no reduction."""
    if reduce is None:
        return None, 0
    kind, _, n = str(reduce).partition(":")
    if kind not in ("pca", "umap") or not n.isdigit() or int(n) < 1:
        raise InputError(f"reduce must be None, 'pca:N' or 'umap:N' with N a positive integer, got {reduce!r}")
    return kind, int(n)


def fit_pca(X: np.ndarray, n_components: int, random_state: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The float32 ``(components, mean)`` of a PCA of X to ``n_components`` dimensions."""
    pca = PCA(n_components=n_components, random_state=random_state).fit(X)
    return pca.components_.astype(np.float32), pca.mean_.astype(np.float32)


def fit_umap(X: np.ndarray, n_components: int, random_state: int | None) -> Any:
    """A fitted ``umap.UMAP`` of X (umap-learn is imported only here); its ``embedding_`` holds X reduced."""
    try:
        import umap
    except ImportError:
        raise InputError("reduce='umap:N' needs umap-learn: pip install 'reasongraph[umap]'") from None
    if len(X) < 3:
        raise InputError(f"UMAP needs at least 3 steps, got {len(X)}")
    log.info("reducing %d steps to %d dimensions with UMAP (its first call in a process compiles code with "
             "numba: expect tens of seconds)", len(X), n_components)
    model = umap.UMAP(n_components=n_components, n_neighbors=min(15, len(X) - 1), random_state=random_state)
    return model.fit(X)
