"""Where along depth the entropy drop is produced: residual patching and the Shapley late share (science.md).

E(X up to l, then Y) is the mean token entropy when the residual stream after block l comes from model X and the
blocks l+1..L and the head are model Y's, run on the full sequence. With D = E(A,A) - E(B,B), the late share at
split l averages both orders of the swap (a Shapley value of the two parts, "up to l" and "after l"):

    late(l) = [(E(A,A) - E(A up to l, then B)) + (E(B up to l, then A) - E(B,B))] / (2 D)

It is 1 at l = 0 (all of the drop is produced after the embeddings, when they are shared) and, at l = L, the
head-only share: the part a swap of the final norm and unembedding alone produces. Shares are unstable as D goes
to 0, so E and D are always reported beside them.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from reasongraph.core.options import CI, N_BOOT, SEED
from reasongraph.stats.bootstrap import bootstrap_interval

__all__ = ["half_drop_layer", "late_share", "patch_profile"]


def late_share(e_aa: float, e_ab: float | np.ndarray, e_ba: float | np.ndarray, e_bb: float) -> float | np.ndarray:
    """The Shapley late share at one split (or elementwise over splits); NaN where D = 0.

    Check: E(A,A) = 2.0, E(A up to L, then B) = 1.2, E(B up to L, then A) = 1.8, E(B,B) = 0.8 give 0.75 (the
    head-only share), so the trunk produced 0.25 of the drop.
    """
    e_aa, e_ab, e_ba, e_bb = (np.asarray(v, dtype=np.float64) for v in (e_aa, e_ab, e_ba, e_bb))
    d = e_aa - e_bb
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(d != 0, ((e_aa - e_ab) + (e_ba - e_bb)) / (2.0 * np.where(d != 0, d, 1.0)), np.nan)
    return float(share) if share.ndim == 0 else share


def half_drop_layer(layers: Sequence[int], share: Sequence[float]) -> int | None:
    """The first split layer at which at most half of the drop is still to come (late share <= 1/2): where half
    the drop has been produced. None when the late share stays above 1/2 up to the last layer (then more than half
    of the drop is produced by the head) or is undefined."""
    for layer, value in zip(layers, share):
        if value is not None and math.isfinite(value) and value <= 0.5:
            return int(layer)
    return None


def patch_profile(layers: Sequence[int], e_aa: np.ndarray, e_bb: np.ndarray, e_ab: np.ndarray, e_ba: np.ndarray,
                  counts: np.ndarray, *, n_boot: int = N_BOOT.default, ci: float = CI.default,
                  seed: int = SEED.default) -> dict:
    """The patching profile with bootstrap CIs over texts.

    Parameters
    ----------
    layers : the split layers, increasing, the last being L.
    e_aa, e_bb : (n_texts,) sums over each text's predicted tokens of A's and B's own entropies.
    e_ab, e_ba : (n_layers, n_texts) the same sums with A up to l then B, and B up to l then A.
    counts : (n_texts,) predicted tokens per text; each E is a sum over tokens divided by the tokens.

    Returns
    -------
    dict with E_AA, E_BB, D (and D's CI), per layer E_AB, E_BA, late_share and its CI, head_only_share and its
    CI, trunk_share (1 - head-only), half_drop_layer and the number of texts and tokens.
    """
    e_aa, e_bb, counts = (np.asarray(v, dtype=np.float64) for v in (e_aa, e_bb, counts))
    e_ab, e_ba = np.asarray(e_ab, dtype=np.float64), np.asarray(e_ba, dtype=np.float64)
    n = counts.sum()
    mean = (lambda s: s.sum(-1) / n) if n else (lambda s: np.full(np.shape(s)[:-1], np.nan))
    aa, bb, ab, ba = mean(e_aa), mean(e_bb), mean(e_ab), mean(e_ba)
    share = np.atleast_1d(late_share(aa, ab, ba, bb))

    def boot(stat):
        return bootstrap_interval(counts.size, stat, n_boot=n_boot, ci=ci, seed=seed) if counts.size else \
            (math.nan, math.nan)

    def share_at(i: int):
        def stat(idx: np.ndarray) -> np.ndarray:
            c = counts[idx].sum(1)
            return late_share(e_aa[idx].sum(1) / c, e_ab[i][idx].sum(1) / c, e_ba[i][idx].sum(1) / c,
                              e_bb[idx].sum(1) / c)
        return stat

    cis = [boot(share_at(i)) for i in range(len(layers))]
    d_ci = boot(lambda idx: (e_aa[idx].sum(1) - e_bb[idx].sum(1)) / counts[idx].sum(1))
    head = float(share[-1]) if share.size else math.nan
    return {"layers": [int(v) for v in layers], "E_AA": float(aa), "E_BB": float(bb), "D": float(aa - bb),
            "D_ci": list(d_ci), "E_AB": [float(v) for v in ab], "E_BA": [float(v) for v in ba],
            "late_share": [float(v) for v in share], "ci_low": [c[0] for c in cis], "ci_high": [c[1] for c in cis],
            "head_only_share": head, "head_only_ci": list(cis[-1]) if cis else [math.nan, math.nan],
            "trunk_share": 1.0 - head, "half_drop_layer": half_drop_layer(layers, share),
            "n_texts": int(counts.size), "n_tokens": int(n)}
