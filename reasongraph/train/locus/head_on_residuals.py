"""A model's head applied to residual states: head_M(h) = W_M norm_M(h), its entropy streamed over vocabulary tiles.

This is the logit lens when h is a middle layer's residual, the head swap when h comes from the other model, and
the model's own output at the last layer. The final norm is the model's own module; the unembedding and its
entropy are :mod:`reasongraph.models.head_entropy`'s tiled head (tied embeddings where the model ties them, soft-capping
where it caps), so no (tokens x vocabulary) matrix, let alone one per layer, is ever allocated.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from reasongraph.models.head_entropy import ROW_TILE, entropy_at_temperatures, entropy_tensors
from reasongraph.models.hooks import final_norm
from reasongraph.train.locus.options import LocusOptions

__all__ = ["residual_entropy", "residual_entropy_grid"]


def _normed(lm: Any, h: Any) -> Any:
    import torch

    h = torch.as_tensor(h).to(device=lm.device, dtype=lm.dtype)
    return final_norm(lm.model)(h)


def residual_entropy(lm: Any, h: Any, *, temperature: float = LocusOptions.temperature) -> np.ndarray:
    """(n,) float64 entropies, nats, of softmax(W norm(h) / temperature) for (n, d) pre-norm residuals ``h`` (a
    NumPy array or a tensor), with ``lm``'s final norm and head, in row blocks of :data:`ROW_TILE`."""
    import torch

    out = np.empty(len(h), dtype=np.float64)
    with torch.inference_mode():
        for a in range(0, len(h), ROW_TILE):
            normed = _normed(lm, h[a:a + ROW_TILE])
            targets = torch.zeros(len(normed), dtype=torch.long, device=normed.device)
            out[a:a + len(normed)] = entropy_tensors(lm.model, normed, targets, temperature)[0].cpu().numpy()
    return out


def residual_entropy_grid(lm: Any, h: Any, temperatures: Sequence[float]) -> np.ndarray:
    """(n, K) float64 entropies of softmax(W norm(h) / t) for each of K temperatures, one head pass per row block
    (:func:`reasongraph.models.head_entropy.entropy_at_temperatures`)."""
    import torch

    out = np.empty((len(h), len(temperatures)), dtype=np.float64)
    with torch.inference_mode():
        for a in range(0, len(h), ROW_TILE):
            normed = _normed(lm, h[a:a + ROW_TILE])
            out[a:a + len(normed)] = entropy_at_temperatures(lm.model, normed, temperatures).cpu().numpy()
    return out
