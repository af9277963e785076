"""What a StepClusterer accepts: its parameters, and step vectors as arrays, lists of arrays or Traces.

Every check raises an InputError that names the parameter or input and says what was wrong, before any work.
"""
from __future__ import annotations


import warnings
from typing import Any, Sequence

import numpy as np

from reasongraph.core.errors import InputError, opt
from reasongraph.graph.cluster.density import BACKENDS, NOISE_POLICIES
from reasongraph.graph.cluster.options import METHODS
from reasongraph.graph.cluster.reduction import parse_reduce

ALGORITHMS = ("auto", "exact", "fast")
POOLS = ("mean", "last")


def check_params(p: dict[str, Any]) -> None:
    """Check a StepClusterer's ``get_params()``; see the class docstring for what each one means."""
    for name, choices in (("method", METHODS), ("algorithm", ALGORITHMS), ("noise", NOISE_POLICIES),
                          ("backend", BACKENDS), ("pool", POOLS)):
        _check_choice(name, p[name], choices)
    parse_reduce(p["reduce"])
    if not (p["k"] == "auto" or is_int(p["k"]) and p["k"] >= 1):
        raise InputError(f"k must be a positive integer or 'auto', got {p['k']!r}")
    if not (p["sketch_size"] is None or is_int(p["sketch_size"]) and p["sketch_size"] >= 1):
        raise InputError(f"sketch_size must be a positive integer or None, got {p['sketch_size']!r}")
    for name in ("n_init", "max_iter", "sketch_dim"):
        if not (is_int(p[name]) and p[name] >= 1):
            raise InputError(f"{name} must be a positive integer, got {p[name]!r}")
    if not (p["min_samples"] is None or is_int(p["min_samples"]) and p["min_samples"] >= 1):
        raise InputError(f"min_samples must be a positive integer or None, got {p['min_samples']!r}")
    if not (is_int(p["min_cluster_size"]) and p["min_cluster_size"] >= 2):
        raise InputError(f"min_cluster_size must be an integer >= 2, got {p['min_cluster_size']!r}")
    if not (p["random_state"] is None or is_int(p["random_state"])):
        raise InputError(f"random_state must be an int or None (it is saved as JSON), got "
                         f"{type(p['random_state']).__name__}")


def stack_steps(X: Any, layer: int | None, pool: str) -> tuple[np.ndarray, int | None]:
    """One float32 (n, d) matrix from an array, a list of arrays or a list of Traces; and the layer used."""
    if isinstance(X, (list, tuple)) and X and all(hasattr(x, "step_vectors") for x in X):
        layers = {resolve_layer(tr, layer) for tr in X}
        if len(layers) > 1:
            raise InputError(f"the traces' first captured layers differ ({sorted(layers, key=str)}); pass layer=")
        used = layers.pop()
        parts = [check_matrix(tr.step_vectors(layer=used, pool=pool), "step vectors") for tr in X]
        return _concat(parts), used
    if isinstance(X, (list, tuple)) and X and all(isinstance(x, np.ndarray) and x.ndim == 2 for x in X):
        return _concat([check_matrix(x, f"array {i}") for i, x in enumerate(X)]), None
    return check_matrix(X, "X"), None


def resolve_layer(trace: Any, layer: int | None) -> int | None:
    """``layer``, or the trace's first captured layer when it is None."""
    if layer is not None:
        return layer
    layers = tuple(getattr(trace, "layers", ()) or ())
    return int(layers[0]) if layers else None


def check_matrix(X: Any, what: str, n_features: int | None = None) -> np.ndarray:
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


def clamp(value: int, limit: int, what: str, limit_name: str) -> int:
    """``min(value, limit)``, warning when it lowers ``value`` (the warning points two frames above the caller)."""
    if value > limit:
        warnings.warn(f"{what}={value} is more than {limit_name} ({limit}); using {what}={limit}", stacklevel=4)
        return limit
    return value


def is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    widths = {p.shape[1] for p in parts}
    if len(widths) > 1:
        raise InputError(f"step vectors of different widths cannot be clustered together: {sorted(widths)}")
    return np.concatenate(parts, axis=0)


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def check_width(name: str, clusterer: Any, width: int, where: str) -> None:
    """A fitted clusterer labels step vectors of the width it was fitted on: check ``width`` (of ``where``)
    against it before any work, naming both sizes."""
    fitted = getattr(clusterer, "n_features_in_", None)
    if fitted is not None and fitted != width:
        raise InputError(f"{opt(name)} was fitted on step vectors of width {fitted}, but {where} has hidden states "
                         f"of width {width}; fit a clusterer on traces of this model")
