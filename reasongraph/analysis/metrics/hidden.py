"""The hidden level: the hidden-state summary of the analyzed layer (:mod:`reasongraph.trace.hidden.summary`,
computed when a trace is made lean, so a cached trace carries it), and with several captured layers the
effective rank of each as ``effective_rank_layer<k>``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from reasongraph.analysis.metrics.family import TraceMetrics
from reasongraph.core.metric import ROY, VERL, Metric

if TYPE_CHECKING:
    from reasongraph.analysis.metrics.context import TraceContext

__all__ = ["ENTRIES", "FAMILY", "compute"]

ENTRIES: tuple[Metric, ...] = (
    Metric("effective_rank", "effective rank", "Roy-Vetterli effective rank of the trace's hidden states",
           "hidden", "hidden", "+", compare=True, distribution=True, top=True, summary="eff.rank",
           definition="exp(-sum p_k ln p_k), p_k = s_k / sum(s) over the singular values of the row-centered "
                      "(n_tokens, d) hidden states at the analyzed layer. Grows with length.", source=ROY,
           check="s=[3,1] -> 1.754765; s=[4,2,1] -> 2.600490; [[1,0,0],[0,2,0],[0,0,3],[1,1,1]] -> 2.600793 "
                 "centered"),
    Metric("erank_window", "effective rank (W=128)", "mean effective rank over windows of 128 tokens",
           "hidden", "hidden", "+", compare=True, distribution=True,
           definition="Mean effective rank of row-centered hidden states over consecutive windows of 128 "
                      "tokens (the last partial window dropped; NaN below 128 tokens, never a silent ceiling): "
                      "length-controlled. It measures how many directions one trajectory spans, not how many a "
                      "policy's samples span: one-template samples keep it high."),
    Metric("erank_window_norm", "effective rank / bound", "erank_window over its bound min(W - 1, d): 1 at the "
           "ceiling", "hidden", "hidden", "+", compare=True, distribution=True,
           definition="erank_window / min(W - 1, d), W = 128 and d the hidden size: centering costs one "
                      "dimension, so a window at its ceiling reads about 1. NaN below 128 tokens.",
           check="a random centered 16 x 576 window: 14.95 of 15 (0.9965)"),
    Metric("spectral_entropy_window", "spectral entropy (W=128)", "mean spectral entropy over 128-token "
           "windows, nats (scale-invariant)", "hidden", "hidden", "+", compare=True,
           definition="H_s(X) = -sum_i p_i ln p_i, p_i = s_i / sum(s) over the singular values of the window with "
                      "its mean row removed (float64), so erank = exp(H_s) and H_s <= ln(min(n_rows - 1, d)); the "
                      "mean over the windows of erank_window. Scale-invariant: multiplying the hidden states by "
                      "any c > 0 leaves it unchanged, so it reads how evenly the spread is shared among "
                      "directions, not how much spread there is (near-duplicate samples score as high as free "
                      "ones; only exact duplicates lower it).",
           check="[[1,0,0],[0,2,0],[0,0,3],[1,1,1]] -> H_s = 0.955816, erank = exp(H_s) = 2.600793"),
    Metric("erv", "ERV", "effective-rank velocity along the trace", "hidden", "hidden", "+", compare=True,
           distribution=True,
           definition="Last 512 rows; ER_j on growing prefixes of (j+1)*40 rows while (j+1)*40 < L; "
                      "v_j = ER_j - mean(ER_0..ER_{j-1}); ERV = mean v.", source=VERL,
           check="ER = [2.0, 2.5, 3.0, 3.2] -> v = [0.5, 0.75, 0.7], ERV = 0.65"),
    Metric("era", "ERA", "effective-rank acceleration along the trace", "hidden", "hidden", "+", compare=True,
           definition="a_j = v_j - v_{j-1}; ERA = mean a.", source=VERL,
           check="ER = [2.0, 2.5, 3.0, 3.2] -> a = [0.25, -0.05], ERA = 0.10"),
    Metric("level_coupling", "level coupling", "Spearman of window entropy vs window effective rank", "hidden",
           "levels", definition="Spearman correlation, over the W = 128 windows, between a window's mean token "
                                "entropy and its effective rank.", source=VERL),
)


def compute(ctx: TraceContext) -> dict:
    """The summary's measures in its own order (a summary cached before a measure existed lists the measure
    first, as NaN or derived), then the effective rank of every captured layer when there are several."""
    metrics = {k: v for k, v in ctx.hidden.items() if k != "erank_curve"}
    if len(ctx.trace.layers) > 1:
        metrics.update({f"effective_rank_layer{k}": ctx.hidden_at(k)["effective_rank"] for k in ctx.trace.layers})
    return metrics


FAMILY = TraceMetrics("hidden", ENTRIES, compute, per_layer=("effective_rank", "erank_window"))
