"""The catalogue entries of the diversity of several samples of one prompt (diversity.jsonl)."""
from __future__ import annotations

from reasongraph.core.metric import Metric

__all__ = ["ENTRIES"]

ENTRIES: tuple[Metric, ...] = (
    # ------------------------------------------------------------------ several samples of one prompt
    Metric("distinct_walk_share", "distinct walks", "distinct walks among a prompt's samples / samples", None,
           "samples", "+", definition="Distinct walks (cluster-id sequences with runs collapsed) / N, over the N "
                                      "samples of one prompt, all labeled by one clustering.",
           check="walks [0,0,1], [0,1], [1,0] -> 2/3"),
    Metric("walk_distance", "walk distance", "mean pairwise normalized edit distance of the samples' walks", None,
           "samples", "+", definition="Mean over pairs of samples of Levenshtein(a, b) / max(len a, len b) on the "
                                      "collapsed walks."),
    Metric("node_coverage", "node coverage", "distinct nodes any sample visits / K", None, "samples", "+",
           definition="Distinct nodes visited by any of the prompt's samples / K."),
    Metric("distinct_3gram_share", "distinct 3-grams", "distinct word 3-grams / all, over the samples' texts",
           None, "samples", "+", definition="Distinct word 3-grams / all word 3-grams of the samples' texts: the "
                                            "token-level baseline of diversity."),
    Metric("cosine_spread", "cosine spread", "mean pairwise 1 - cos of the samples' mean hidden states (the "
           "hidden analogue of policy entropy)", None, "samples", "+",
           definition="Mean over pairs i < j of 1 - cos(m_i, m_j), float64, m_i sample i's mean hidden state at "
                      "the scored layer over its first M response tokens; M the shortest response of the prompt's "
                      "samples in every group of the run, at least 16 (shorter and empty samples left out and "
                      "counted in n_spread_left_out), at most the 512 tokens a cache keeps. The summary measure "
                      "of cross-sample spread: it falls on one-template samples, where erank_window does not.",
           check="N identical samples -> <= 1e-12"),
    Metric("spread_variance", "cross-sample variance", "mean squared distance of the samples' mean hidden states "
           "to their mean", None, "samples", "+",
           definition="Mean over i of ||m_i - mean(m)||^2 (m_i as for cosine_spread), reported as a ratio to "
                      "the reference group's. Quadratic: 0.4x variance is 0.63x in standard deviation.",
           check="N identical samples -> <= 1e-12"),
    Metric("node_entropy", "node entropy", "entropy of the prompt's pooled node visits, nats", None, "samples",
           "+", definition="-sum p ln p over the nodes of the visits (steps per node) pooled over the prompt's "
                           "samples, under the run's clustering; its cap ln(min(K, visits)) is node_entropy_cap. "
                           "Not comparable in range with token entropy (cap ln(vocabulary)). It counts each "
                           "sample's own spread too: N identical samples give one walk's entropy, not 0."),
    Metric("node_entropy_cap", "node entropy cap", "ln(min(K, visits)): the most node_entropy can be", None,
           "samples", definition="ln(min(K, pooled visits)) for the prompt's samples."),
    Metric("node_information", "node information", "mutual information of sample and node, nats: the "
           "cross-sample part of node entropy", None, "samples", "+",
           definition="node_entropy minus the visit-weighted mean of each sample's own node entropy: 0 when every "
                      "sample visits the nodes in the same proportions, at most ln N.",
           check="N identical samples -> 0 (<= 1e-12); walks [0,0] and [1,1] -> ln 2"),
)
