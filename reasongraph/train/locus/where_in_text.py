"""Where in the text the entropy drop lies: by A's entropy percentile, on A's forking tokens, at step onsets.

The 80/20 paper finds that RLVR changes mostly the ~20% high-entropy "forking" tokens and keeps most of the base
model's high-entropy positions (about 86% on Qwen3). With per-token entropies of A and B on the same tokens and
drop_i = H_i^A - H_i^B:

- **by percentile**: the tokens ranked by A's entropy (pooled over texts; ties in rank order, so each of the ten
  buckets holds a tenth of the tokens even when many entropies are ~0) and, per bucket, the mean entropies, the
  mean drop and the bucket's share of the total drop;
- **top-20% share**: the share of the total drop carried by A's forking tokens (each text's top 20% by A's
  entropy, :func:`reasongraph.trace.token_signals.forking_tokens`);
- **top-20% overlap**: of A's forking positions, the share that are B's forking positions too;
- **onsets**: the mean drop at the tokens that begin a step (their onset, the decision of how it begins) and at
  the other tokens.

Every pooled number is a ratio of sums over tokens, with a percentile bootstrap CI over texts.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from reasongraph.core.options import CI, N_BOOT, SEED
from reasongraph.stats.bootstrap import bootstrap_interval
from reasongraph.trace.token_signals import forking_tokens

__all__ = ["BUCKETS", "RHO", "text_profile"]

BUCKETS = 10
RHO = 0.2


def text_profile(h_a: Sequence[np.ndarray], h_b: Sequence[np.ndarray], onsets: Sequence[Sequence[int]], *,
                 n_boot: int = N_BOOT.default, ci: float = CI.default, seed: int = SEED.default) -> dict:
    """The drop located in the text.

    Parameters
    ----------
    h_a, h_b : per text, the (n_i,) entropies of A and of B on the same predicted tokens (finite).
    onsets : per text, indices into those arrays of the tokens that begin a step.

    Returns
    -------
    {"buckets": [...], "top20_drop_share", "top20_drop_share_ci", "top20_overlap", "top20_overlap_ci",
    "onset_drop", "other_drop", "onset_minus_other", "onset_minus_other_ci", "n_onsets", "n_tokens",
    "total_drop"}.
    """
    h_a = [np.asarray(h, dtype=np.float64) for h in h_a]
    h_b = [np.asarray(h, dtype=np.float64) for h in h_b]
    sums = _per_text_sums(h_a, h_b, onsets)

    def ratio(num: str, den: str) -> tuple[float, tuple[float, float]]:
        x, y = sums[num], sums[den]
        value = x.sum() / y.sum() if y.sum() else math.nan
        lo_hi = _boot(len(x), lambda idx: _div(x[idx].sum(1), y[idx].sum(1)), n_boot, ci, seed)
        return float(value), lo_hi

    share, share_ci = ratio("drop_top", "drop")
    overlap, overlap_ci = ratio("shared_top", "top_a")
    on, other = _div(sums["drop_onset"].sum(), sums["n_onset"].sum()), \
        _div(sums["drop"].sum() - sums["drop_onset"].sum(), sums["n"].sum() - sums["n_onset"].sum())

    def onset_gap(idx: np.ndarray) -> np.ndarray:
        s_on, n_on = sums["drop_onset"][idx].sum(1), sums["n_onset"][idx].sum(1)
        s_all, n_all = sums["drop"][idx].sum(1), sums["n"][idx].sum(1)
        return _div(s_on, n_on) - _div(s_all - s_on, n_all - n_on)

    return {"buckets": _buckets(h_a, h_b), "top20_drop_share": share, "top20_drop_share_ci": list(share_ci),
            "top20_overlap": overlap, "top20_overlap_ci": list(overlap_ci), "onset_drop": float(on),
            "other_drop": float(other), "onset_minus_other": float(on - other),
            "onset_minus_other_ci": list(_boot(len(h_a), onset_gap, n_boot, ci, seed)),
            "n_onsets": int(sums["n_onset"].sum()), "n_tokens": int(sums["n"].sum()),
            "total_drop": float(sums["drop"].sum()), "rho": RHO}


def _per_text_sums(h_a: list[np.ndarray], h_b: list[np.ndarray], onsets: Sequence[Sequence[int]]
                   ) -> dict[str, np.ndarray]:
    keys = ("drop", "drop_top", "shared_top", "top_a", "drop_onset", "n_onset", "n")
    out = {k: np.zeros(len(h_a)) for k in keys}
    for i, (a, b, on) in enumerate(zip(h_a, h_b, onsets)):
        if a.shape != b.shape:
            raise ValueError(f"text {i}: A has {a.size} entropies and B {b.size}")
        drop = a - b
        top_a, top_b = (forking_tokens(a, rho=RHO), forking_tokens(b, rho=RHO)) if a.size else (a > 0, b > 0)
        at = np.zeros(a.size, dtype=bool)
        idx = np.asarray([j for j in on if 0 <= j < a.size], dtype=np.int64)
        at[idx] = True
        out["drop"][i], out["drop_top"][i] = drop.sum(), drop[top_a].sum()
        out["shared_top"][i], out["top_a"][i] = (top_a & top_b).sum(), top_a.sum()
        out["drop_onset"][i], out["n_onset"][i], out["n"][i] = drop[at].sum(), at.sum(), a.size
    return out


def _buckets(h_a: list[np.ndarray], h_b: list[np.ndarray]) -> list[dict]:
    a = np.concatenate(h_a) if h_a else np.zeros(0)
    b = np.concatenate(h_b) if h_b else np.zeros(0)
    if not a.size:
        return []
    order = np.argsort(a, kind="stable")
    bucket = np.empty(a.size, dtype=np.int64)
    bucket[order] = np.arange(a.size) * BUCKETS // a.size
    total = (a - b).sum()
    out = []
    for k in range(BUCKETS):
        m = bucket == k
        if not m.any():
            continue
        drop = (a[m] - b[m]).sum()
        out.append({"bucket": k, "percentile_low": 100 * k // BUCKETS, "percentile_high": 100 * (k + 1) // BUCKETS,
                    "n": int(m.sum()), "H_A_low": float(a[m].min()), "H_A_high": float(a[m].max()),
                    "H_A": float(a[m].mean()), "H_B": float(b[m].mean()), "drop": float(drop / m.sum()),
                    "drop_share": float(drop / total) if total else math.nan})
    return out


def _div(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.asarray(y) != 0, np.asarray(x, dtype=np.float64) / np.where(np.asarray(y) != 0, y, 1),
                        np.nan)


def _boot(n: int, stat, n_boot: int, ci: float, seed: int) -> tuple[float, float]:
    return bootstrap_interval(n, stat, n_boot=n_boot, ci=ci, seed=seed) if n else (math.nan, math.nan)
