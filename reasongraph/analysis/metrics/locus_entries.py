"""The catalogue entries of ``reasongraph locus``: two checkpoints of one model on the same texts."""
from __future__ import annotations

from reasongraph.core.metric import F8020, HRSA, LED, Metric

__all__ = ["ENTRIES"]

ENTRIES: tuple[Metric, ...] = (
    # ------------------------------------------------------------------ two checkpoints on the same texts (locus)
    Metric("drop", "entropy drop D", "E(A,A) - E(B,B): mean token entropy of A minus B's, nats", None, "locus",
           definition="Mean entropy over all predicted tokens of the texts (each token once), A's minus B's, each "
                      "read by its own model, with a bootstrap CI over texts. The shares below divide by it: they "
                      "are unstable as D goes to 0."),
    Metric("lens_ratio", "lens ratio (own heads)", "per layer: logit-lens entropy of B over A's, each model's head",
           None, "locus",
           definition="H_l(M) = mean over sampled tokens of the entropy of softmax(W_M norm_M(h_l) / T), h_l the "
                      "residual after block l before the final norm; the ratio H_l(B) / H_l(A) per layer with a "
                      "bootstrap CI over texts and a sign-flip p (Holm-corrected over layers). A changed head "
                      "shows at every depth. Logit lenses on small models are not monotone in depth.", source=LED),
    Metric("lens_ratio_a_head", "lens ratio (A's head)", "per layer: the same ratio with A's head on both trunks",
           None, "locus",
           definition="As lens_ratio, with A's final norm and unembedding applied to both models' h_l: it isolates "
                      "the trunk (1 at every layer when only the head changed).", source=LED),
    Metric("locus_layer", "collapse locus", "first layer where the A-head ratio reached half its last-layer drop",
           None, "locus",
           definition="The first layer l with 1 - r_l >= (1 - r_L) / 2, r the A-head lens ratio: an effect size. "
                      "None when the last layer shows no drop."),
    Metric("cka", "linear CKA", "per layer: linear CKA of A's and B's states on the same tokens", None, "locus",
           definition="||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F), columns centered, float64, on the sampled tokens; "
                      "1 for Y = cXR (R orthogonal).", source=HRSA,
           check="X = [[1,0,0],[0,2,0],[0,0,3],[1,1,1]], Y = [[1,2,0],[0,1,0],[3,0,1],[0,1,2]] -> 0.875909"),
    Metric("procrustes", "Procrustes residual", "per layer: what no rotation maps from A's states to B's", None,
           "locus", definition="Center both, scale each to unit Frobenius norm; min over orthogonal R of "
                               "||XR - Y||_F^2 = 2 - 2 ||X^T Y||_* (nuclear norm). 0 for Y = cXR.", source=HRSA,
           check="the CKA example -> 0.187304"),
    Metric("knn_overlap", "k-NN overlap", "per layer: share of each token's 10 nearest neighbours kept", None,
           "locus", definition="For each sampled token, the share of its k = 10 nearest neighbours (Euclidean, itself "
                               "excluded) that are the same in A's and in B's states; the mean over tokens.",
           source=HRSA),
    Metric("spectral_entropy_A", "spectral entropy (A)", "per layer: log effective rank of A's sampled states",
           None, "locus", definition="-sum p_i ln p_i, p = s / sum(s) over the singular values of the sampled "
                                     "states with their mean row removed (float64): ln of the centered effective "
                                     "rank, at most ln(min(n - 1, d)); scale-invariant.",
           check="[[1,0,0],[0,2,0],[0,0,3],[1,1,1]] -> 0.955816 (erank 2.600793)"),
    Metric("spectral_entropy_B", "spectral entropy (B)", "per layer: log effective rank of B's sampled states",
           None, "locus", definition="As spectral_entropy_A, for B."),
    Metric("late_share", "late share", "per split l: share of the drop produced after layer l (patching)", None,
           "locus",
           definition="(1/2)[(E(A,A) - E(A up to l, then B)) + (E(B up to l, then A) - E(B,B))] / D: the Shapley "
                      "average of both orders of the residual swap at l, run on the full sequence. 1 at l = 0; at "
                      "l = L the head-only share.",
           check="E(A,A) = 2.0, E(A,B) = 1.2, E(B,A) = 1.8, E(B,B) = 0.8 -> 0.75 at l = L (trunk share 0.25)"),
    Metric("head_only_share", "head-only share", "the late share at the last layer: the head's part of the drop",
           None, "locus",
           definition="The late share at l = L: the part of the drop a swap of the final norm and unembedding "
                      "alone produces; 0 by construction for a LoRA adapter on attention and MLP."),
    Metric("half_drop_layer", "half-drop layer", "first split by which half of the drop is produced", None,
           "locus", definition="The first split layer with a late share <= 1/2; None when more than half of the "
                               "drop is produced by the head."),
    Metric("t_star", "temperature-equivalent", "the temperature on A's logits that best mimics B's entropies",
           None, "locus",
           definition="argmin_t sum_i (H(softmax(z_i^A / t)) - H_i^B)^2 over the sampled tokens (a grid in one "
                      "tiled pass, then Brent's method). B = A with its final norm scaled by 1/0.6 gives 0.6.",
           check="a readout scaled by 1/0.6 -> t* = 0.6, share explained 1"),
    Metric("t_share_explained", "share explained by t*", "1 - SSE(t*) / SSE(1)", None, "locus",
           definition="The share of the squared per-token entropy mismatch between A and B that the temperature "
                      "t* removes: 1 for a pure temperature change."),
    Metric("top20_drop_share", "drop on A's forking tokens", "share of the drop carried by A's top-20% tokens",
           None, "locus", definition="Sum of H_A - H_B over each text's top 20% tokens by A's entropy / the sum "
                                     "over all tokens, with a bootstrap CI over texts.", source=F8020),
    Metric("top20_overlap", "forking positions kept", "share of A's top-20% positions that are B's too", None,
           "locus", definition="|top_A & top_B| / |top_A| summed over texts (top 20% by each model's own entropy); "
                               "the 80/20 paper reports about 86% kept after RLVR.", source=F8020),
    Metric("onset_drop_gap", "onset drop gap", "mean drop at step onsets minus at other tokens, nats", None,
           "locus", definition="Mean H_A - H_B over the tokens that begin a step, minus the mean over the other "
                               "tokens, with a bootstrap CI over texts."),
)
