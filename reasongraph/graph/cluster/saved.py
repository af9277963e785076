"""A fitted StepClusterer on disk: one ``.npz`` of arrays and a JSON header (:mod:`reasongraph.core.npz_format`).

The header holds the parameters (``get_params()``) and the fitted scalars; the arrays are ``centers``,
``labels`` and, when the clusterer has them, ``radii``, ``pca_components`` and ``pca_mean``. A loaded clusterer
predicts exactly as the saved one, since prediction depends only on these arrays.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from reasongraph.core.errors import InputError
from reasongraph.core.npz_format import Array, damaged, load_npz, save_npz
from reasongraph.graph.cluster.reduction import parse_reduce

if TYPE_CHECKING:
    from reasongraph.graph.cluster.estimator import StepClusterer

_FORMAT = "reasongraph.StepClusterer"
_FORMAT_VERSION = 1
_WHAT = "clusterer"
_SAVED_ATTRIBUTES = ("k_", "n_clusters_", "n_noise_", "algorithm_", "n_iter_", "sketch_dim_", "layer_",
                     "n_features_in_", "inertia_", "predict_rule_")  # scalars kept in the JSON header
_FITTED_TYPES = {"k_": (int,), "n_clusters_": (int,), "n_noise_": (int,), "n_features_in_": (int,),
                 "inertia_": (float, int), "algorithm_": (str,), "predict_rule_": (str,), "layer_": (int, type(None)),
                 "n_iter_": (int, type(None)), "sketch_dim_": (int, type(None))}
_OPTIONAL_ARRAYS = ("radii_", "pca_components_", "pca_mean_")  # saved without the trailing underscore
_ARRAYS = {"centers": Array(2, "f"), "labels": Array(1, "iu")}
_OPTIONAL = {"radii": Array(1, "f"), "pca_components": Array(2, "f"), "pca_mean": Array(1, "f")}


def save_clusterer(clu: "StepClusterer", path: str | Path) -> Path:
    """Write a fitted clusterer to ``path``; see :meth:`StepClusterer.save`."""
    check_is_fitted(clu, "cluster_centers_")
    if parse_reduce(clu.reduce)[0] == "umap":
        raise InputError("a clusterer with reduce='umap:N' cannot be saved: a fitted UMAP can only be stored "
                         "with pickle, which reasongraph never uses; refit it, or use reduce='pca:N'")
    if clu.predict_rule_ == "approximate_predict":
        warnings.warn("the hdbscan package's approximate_predict state cannot be saved without pickle; the "
                      "saved clusterer labels new steps by nearest center and radius instead", stacklevel=3)
    fitted = {name: getattr(clu, name) for name in _SAVED_ATTRIBUTES}
    fitted["inertia_"] = float(clu.inertia_)
    fitted["predict_rule_"] = "nearest_center"  # what a loaded clusterer uses, whatever the backend
    arrays = {"centers": clu.cluster_centers_, "labels": clu.labels_}
    for name in _OPTIONAL_ARRAYS:
        if getattr(clu, name) is not None:
            arrays[name.rstrip("_")] = getattr(clu, name)
    return save_npz(path, format=_FORMAT, version=_FORMAT_VERSION,
                    header={"params": clu.get_params(), "fitted": fitted}, arrays=arrays)


def read_clusterer(path: str | Path) -> tuple[dict, dict, dict[str, np.ndarray]]:
    """(params, fitted scalars, arrays) of a file written by :func:`save_clusterer`, checked; never unpickles.

    A file that is missing, damaged or not a clusterer raises InputError (a ValueError) naming the path and the
    problem.
    """
    header, arrays = load_npz(path, format=_FORMAT, max_version=_FORMAT_VERSION, what=_WHAT,
                              required_header=("params", "fitted"), required_arrays=_ARRAYS,
                              optional_arrays=_OPTIONAL)
    for field in ("params", "fitted"):
        if not isinstance(header[field], dict):
            raise damaged(path, _WHAT, f"its header's {field!r} is not an object")
    missing = [name for name in _SAVED_ATTRIBUTES if name not in header["fitted"]]
    if missing:
        raise damaged(path, _WHAT, f"its header's 'fitted' lacks {', '.join(map(repr, missing))}")
    for name, types in _FITTED_TYPES.items():
        value = header["fitted"][name]
        if isinstance(value, bool) or not isinstance(value, types):
            raise damaged(path, _WHAT, f"its header's {name} is {value!r}, a value of the wrong type")
    return header["params"], header["fitted"], arrays


def restore(clu: Any, fitted: dict, arrays: dict[str, np.ndarray], path: str | Path) -> Any:
    """Set the fitted state read by :func:`read_clusterer` on a new estimator, and check it is consistent."""
    for name in _SAVED_ATTRIBUTES:
        setattr(clu, name, fitted[name])
    clu.cluster_centers_ = arrays["centers"]
    clu.labels_ = arrays["labels"].astype(np.int64)
    clu.radii_ = arrays.get("radii")
    clu.pca_components_ = arrays.get("pca_components")
    clu.pca_mean_ = arrays.get("pca_mean")
    _check_shapes(clu, path)
    return clu


def _check_shapes(clu: Any, path: str | Path) -> None:
    """The arrays agree with each other and with the header: what ``predict`` relies on."""
    n_centers, width = clu.cluster_centers_.shape
    if clu.n_clusters_ != n_centers:
        raise damaged(path, _WHAT, f"{n_centers} centers for n_clusters_={clu.n_clusters_!r}")
    if clu.method == "hdbscan" and (clu.radii_ is None or clu.radii_.shape != (n_centers,)):
        raise damaged(path, _WHAT, f"an HDBSCAN clusterer needs one radius per center ({n_centers})")
    if (clu.pca_components_ is None) != (clu.pca_mean_ is None):
        raise damaged(path, _WHAT, "it holds only one of pca_components and pca_mean")
    if clu.pca_components_ is not None:
        expected = (width, clu.n_features_in_)
        if clu.pca_components_.shape != expected or clu.pca_mean_.shape != expected[1:]:
            raise damaged(path, _WHAT, f"PCA arrays of shapes {clu.pca_components_.shape} and "
                                       f"{clu.pca_mean_.shape} for {width}-d centers of "
                                       f"{clu.n_features_in_!r}-d steps")
    elif width != clu.n_features_in_:
        raise damaged(path, _WHAT, f"{width}-d centers for n_features_in_={clu.n_features_in_!r}")
