"""Every hidden-state measure of one trace at one layer: the summary a lean trace keeps instead of its hidden states.

A scoring run's trace cache keeps this summary per layer (with the mean step vectors), so later passes never need
the hidden states, which are a thousand times larger. An entry written before a measure was added lacks its key;
:func:`missing_measures` names what it lacks, and the analysis reports those as NaN.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from reasongraph.trace.hidden.effective_rank import as_matrix, effective_rank
from reasongraph.trace.hidden.rank_dynamics import PROFILE_WINDOW, WINDOW, erank_dynamics, erank_profile, level_coupling
from reasongraph.trace.hidden.spectral import window_measures

__all__ = ["SUMMARY_KEYS", "hidden_summary", "missing_measures"]

#: The numbers of :func:`hidden_summary` (besides the curve), in the order rows get them.
SUMMARY_KEYS = ("effective_rank", "erank_window", "spectral_entropy_window", "erank_window_norm", "erv", "era",
                "level_coupling")


def hidden_summary(X: np.ndarray, entropy: np.ndarray) -> dict:
    """Every hidden-state measure of one trace at one layer, from its (n_tokens, d) hidden states.

    ``effective_rank`` (whole trace, centered); over the consecutive windows of W =
    :data:`~reasongraph.trace.hidden.rank_dynamics.WINDOW` rows, ``erank_window``, ``spectral_entropy_window`` (nats)
    and ``erank_window_norm`` (erank_window over min(W - 1, d)), all NaN for a trace shorter than W
    (:func:`reasongraph.trace.hidden.spectral.window_measures`); ``erv`` and ``era`` (VERL); ``level_coupling``
    (window entropy vs window rank); and ``erank_curve``: [window starts, ranks] of windows of
    :data:`~reasongraph.trace.hidden.rank_dynamics.PROFILE_WINDOW` rows, for plots.
    """
    X = as_matrix(X)
    erv, era = erank_dynamics(X)
    starts, values = erank_profile(X, window=PROFILE_WINDOW) if len(X) >= 2 else (np.zeros(0), np.zeros(0))
    return {
        "effective_rank": effective_rank(X) if len(X) > 1 else float("nan"),
        **window_measures(X, WINDOW),
        "erv": erv,
        "era": era,
        "level_coupling": level_coupling(entropy, X, window=WINDOW),
        "erank_curve": [np.asarray(starts).tolist(), [float(v) for v in values]],
    }


def missing_measures(summary: Mapping, width: int) -> dict[str, float]:
    """The measures of :data:`SUMMARY_KEYS` a cached summary lacks (one written before the measure existed):
    ``erank_window_norm`` from its ``erank_window`` and the layer's ``width`` (the same number, exactly), every
    other one NaN: undefined, never a value computed some other way."""
    out = {k: math.nan for k in SUMMARY_KEYS if k not in summary}
    if "erank_window_norm" in out and "erank_window" in summary:
        out["erank_window_norm"] = summary["erank_window"] / min(WINDOW - 1, width)
    return out
