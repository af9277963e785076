"""Cross-sample spread of one prompt's samples: how far apart a policy's answers lie inside the model.

Token entropy measures how many continuations a policy keeps open; ``erank_window`` measures how many directions
*one* trajectory spans, and stays high when every sample follows one template. The hidden analogue of policy
entropy compares the samples of one prompt with each other. At the scored layer, in float64, let m_i be sample i's
mean hidden state over its first M response tokens, M the shortest response among the prompt's samples in every
group compared (at least :data:`MIN_TOKENS`), so that length does not move the spread; shorter and empty samples
are left out and counted.

- ``cosine_spread``: the mean over pairs i < j of 1 - cos(m_i, m_j). The summary measure.
- ``spread_variance``: the mean over i of ||m_i - mean(m)||^2. Quadratic: a ratio r between two groups is sqrt(r)
  in standard deviation (0.4x variance is 0.63x).
- ``node_entropy``: the entropy in nats of the pooled node visits (steps per node, over the samples' walks under
  the run's clustering), with its cap ln(min(K, visits)) beside it (``node_entropy_cap``); its range is not that of
  token entropy, whose cap is ln(vocabulary). It also counts each sample's own spread over nodes, so N identical
  samples give the entropy of one walk, not 0.
- ``node_information``: node_entropy minus the visit-weighted mean of each sample's own node entropy, i.e. the
  mutual information (nats) between which sample and which node: 0 when every sample visits the nodes in the same
  proportions (identical samples), at most ln N. The cross-sample part of node_entropy.

Controls (tests/test_spread.py): N identical samples give <= 1e-12 on the cosine spread, the variance and the node
information; one-template samples of the default model score more than 20x below its free samples; two draws
of one policy give a ratio near 1. Spectral entropy of the m_i is *not* a spread measure (see
:mod:`reasongraph.trace.hidden.spectral`: it is scale-invariant).
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

__all__ = ["MIN_TOKENS", "SPREAD_METRICS", "cosine_spread", "node_entropy", "node_information", "prefix_means",
           "prompt_spread", "spread_length", "spread_variance", "template_texts"]

#: The shortest M: a mean over fewer tokens is dominated by the first few, which a prompt's samples share.
MIN_TOKENS = 16
#: The measures of :func:`prompt_spread` that summaries and reports show per group.
SPREAD_METRICS = ("cosine_spread", "spread_variance", "node_entropy", "node_entropy_cap", "node_information")


def spread_length(lengths: Sequence[int], *, min_tokens: int = MIN_TOKENS, cap: int | None = None) -> int | None:
    """M: the shortest of ``lengths`` (response tokens of a prompt's samples, in every group compared) that is at
    least ``min_tokens``, no more than ``cap`` (the prefix a cache keeps); None when no sample is that long."""
    long_enough = [int(n) for n in lengths if n >= min_tokens]
    if not long_enough:
        return None
    m = min(long_enough)
    return min(m, cap) if cap is not None else m


def prefix_means(prefixes: Sequence[np.ndarray], m: int) -> np.ndarray:
    """(N, d) float64: each sample's mean hidden state over its first ``m`` rows (each must hold at least m)."""
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    short = [i for i, p in enumerate(prefixes) if len(p) < m]
    if short:
        raise ValueError(f"samples {short} hold fewer than m = {m} rows")
    return np.array([np.asarray(p[:m], dtype=np.float64).mean(axis=0) for p in prefixes], dtype=np.float64)


def cosine_spread(means: np.ndarray) -> float:
    """Mean over pairs i < j of 1 - cos(m_i, m_j), float64; NaN for fewer than two rows or a zero row."""
    means = np.asarray(means, dtype=np.float64)
    n = means.shape[0]
    norms = np.linalg.norm(means, axis=1)
    if n < 2 or np.any(norms == 0):
        return math.nan
    unit = means / norms[:, None]
    i, j = np.triu_indices(n, k=1)
    return float(np.mean(1.0 - np.einsum("pd,pd->p", unit[i], unit[j])))


def spread_variance(means: np.ndarray) -> float:
    """Mean over rows of ||m_i - mean(m)||^2, float64; NaN for fewer than two rows."""
    means = np.asarray(means, dtype=np.float64)
    if means.shape[0] < 2:
        return math.nan
    return float(np.mean(np.sum((means - means.mean(axis=0)) ** 2, axis=1)))


def _visits(walk: Sequence[int]) -> np.ndarray:
    w = np.asarray(walk, dtype=np.int64).ravel()
    return w[w >= 0]


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log(p))) if p.size > 1 else 0.0


def node_entropy(walks: Sequence[Sequence[int]], k: int) -> tuple[float, float]:
    """(entropy in nats of the pooled node visits of the walks, its cap ln(min(k, visits))); (NaN, NaN) without a
    visit. A visit is a step labeled with a node; negative labels (dropped steps) are no visit."""
    if k < 1:
        raise ValueError(f"k must be >= 1 (the number of clusters), got {k}")
    visits = np.concatenate([_visits(w) for w in walks]) if walks else np.zeros(0, dtype=np.int64)
    if not visits.size:
        return math.nan, math.nan
    return _entropy(np.unique(visits, return_counts=True)[1]), math.log(min(k, visits.size))


def node_information(walks: Sequence[Sequence[int]]) -> float:
    """Mutual information (nats) between sample and node over the pooled visits: node entropy of the pool minus
    the visit-weighted mean of each walk's own node entropy. 0 when every walk visits nodes in the same
    proportions; NaN without a visit."""
    per_walk = [_visits(w) for w in walks]
    sizes = np.array([v.size for v in per_walk], dtype=np.float64)
    if sizes.sum() == 0:
        return math.nan
    pooled = _entropy(np.unique(np.concatenate(per_walk), return_counts=True)[1])
    within = sum(s * _entropy(np.unique(v, return_counts=True)[1]) for s, v in zip(sizes, per_walk) if s)
    return max(0.0, pooled - within / sizes.sum())  # max: round-off may dip a hair below 0 for equal proportions


def template_texts(text: str, n: int) -> list[str] | None:
    """The one-template control: ``n`` copies of ``text`` whose first number is changed to itself + 0, 1, ...,
    n - 1 (the first copy is the text itself); None when the text holds no number. Samples that differ in one
    number spread far less than free samples, so a spread measure must fall on them. The *first* number, because a
    causal model's hidden states before the change are equal: a number changed after the M tokens the spread
    averages would give exactly 0, a control that cannot tell a measure from a constant."""
    first = re.search(r"\d+", text)
    if first is None:
        return None
    return [text[:first.start()] + str(int(first.group()) + k) + text[first.end():] for k in range(n)]


def prompt_spread(prefixes: Sequence[np.ndarray | None], walks: Sequence[Sequence[int]], *, m: int | None,
                  k: int) -> dict:
    """Every spread measure of one prompt's samples in one group.

    Parameters
    ----------
    prefixes : per sample, its hidden states over its first response tokens (rows), or None when they are not
        known (a cache entry without them).
    walks : per sample, its node per step.
    m : M, the tokens to average (:func:`spread_length` over the prompt's samples in every group); None when no
        sample of the prompt is long enough.
    k : the clustering's number of clusters.

    Returns
    -------
    ``spread_tokens`` (M), ``n_spread_samples`` (samples kept: at least M tokens), ``n_spread_left_out`` (shorter,
    empty, or without hidden states), ``cosine_spread``, ``spread_variance``, ``node_entropy``,
    ``node_entropy_cap``, ``node_information``; the node measures over the kept samples' walks too. Every measure
    is NaN with fewer than two kept samples.
    """
    if len(prefixes) != len(walks):
        raise ValueError(f"got {len(prefixes)} prefixes but {len(walks)} walks; give one of each per sample")
    kept = [i for i, p in enumerate(prefixes) if m is not None and p is not None and len(p) >= m]
    out = {"spread_tokens": m, "n_spread_samples": len(kept), "n_spread_left_out": len(prefixes) - len(kept)}
    if len(kept) < 2:
        return {**out, **dict.fromkeys(("cosine_spread", "spread_variance", "node_entropy", "node_entropy_cap",
                                        "node_information"), math.nan)}
    means = prefix_means([prefixes[i] for i in kept], m)
    kept_walks = [walks[i] for i in kept]
    h, cap = node_entropy(kept_walks, k)
    return {**out, "cosine_spread": cosine_spread(means), "spread_variance": spread_variance(means),
            "node_entropy": h, "node_entropy_cap": cap, "node_information": node_information(kept_walks)}
