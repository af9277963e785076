"""The depth profile of a collapse: logit-lens entropy per layer for A and B, their ratio with a bootstrap CI over
texts and a Holm-corrected p over layers, and the collapse locus (science.md, "Logit lens").

The inputs are per-text sums of token entropies at each layer over the sampled tokens, and each text's number of
sampled tokens: a layer's mean entropy is its sum over tokens divided by the tokens (each token counts once), and
the bootstrap resamples texts (tokens of one text are not independent), so every interval is a cluster bootstrap.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from reasongraph.core.options import CI, N_BOOT, SEED
from reasongraph.stats.bootstrap import bootstrap_interval
from reasongraph.stats.paired import holm, sign_flip_p

__all__ = ["lens_profile", "locus_layer"]


def lens_profile(sum_a: np.ndarray, sum_b: np.ndarray, counts: np.ndarray, *, n_boot: int = N_BOOT.default,
                 ci: float = CI.default, seed: int = SEED.default) -> dict[str, list[float]]:
    """Per layer: mean entropy of A and B, the ratio B/A with a percentile bootstrap CI over texts, the
    two-sided sign-flip p of "the per-text mean difference B - A is 0", and that p Holm-corrected over layers.

    Parameters
    ----------
    sum_a, sum_b : (n_layers, n_texts) sums of the sampled tokens' entropies per layer and text.
    counts : (n_texts,) sampled tokens per text (texts with none count in no statistic).
    n_boot, ci, seed : the bootstrap (the same resamples of texts at every layer).

    Returns
    -------
    {"A", "B", "ratio", "ci_low", "ci_high", "p", "p_holm"}: one list entry per layer.
    """
    sum_a, sum_b = np.asarray(sum_a, dtype=np.float64), np.asarray(sum_b, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    kept = counts > 0
    sum_a, sum_b, counts = sum_a[:, kept], sum_b[:, kept], counts[kept]
    total = counts.sum()
    out: dict[str, list[float]] = {key: [] for key in ("A", "B", "ratio", "ci_low", "ci_high", "p")}
    for a, b in zip(sum_a, sum_b):
        mean_a, mean_b = (a.sum() / total, b.sum() / total) if total else (math.nan, math.nan)
        lo, hi = bootstrap_interval(a.size, lambda idx: _ratio(b[idx].sum(1), a[idx].sum(1)), n_boot=n_boot, ci=ci,
                                    seed=seed) if a.size else (math.nan, math.nan)
        out["A"].append(float(mean_a))
        out["B"].append(float(mean_b))
        out["ratio"].append(float(_ratio(np.array([mean_b]), np.array([mean_a]))[0]))
        out["ci_low"].append(lo)
        out["ci_high"].append(hi)
        out["p"].append(sign_flip_p(b / counts - a / counts, seed=seed) if a.size else math.nan)
    out["p_holm"] = [float(v) for v in holm(out["p"])]
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)


def locus_layer(layers: Sequence[int], ratio: Sequence[float]) -> int | None:
    """The collapse locus: the first layer at which the ratio B/A has fallen by half of its last-layer drop,
    1 - r_l >= (1 - r_L) / 2, an effect size rather than a test.

    ``layers`` in increasing depth, the last being the last layer. None when the last layer shows no drop
    (r_L >= 1 or undefined): then there is no collapse to locate.
    """
    r = np.asarray(ratio, dtype=np.float64)
    if not r.size or not math.isfinite(r[-1]) or r[-1] >= 1.0:
        return None
    half = (1.0 - r[-1]) / 2.0
    for layer, value in zip(layers, r):
        if math.isfinite(value) and 1.0 - value >= half:
            return int(layer)
    return None
