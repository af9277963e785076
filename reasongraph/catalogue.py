"""The metric catalogue: every number reasongraph reports, named, explained and placed, in one list.

Tables (``score``'s summary, ``compare``), the HTML views (the trace view's metric panel, the report's
distributions and its most-cyclic table) and ``docs/metrics.md`` all read :data:`METRICS`, so adding a metric is
one edit here. ``python -m reasongraph.catalogue`` prints docs/metrics.md; a test checks that the file is current.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["METRICS", "Metric", "PANELS", "by_key", "compare_keys", "distribution_keys", "markdown", "panel",
           "summary_keys", "top_keys"]

TOR = "Topology of Reasoning (Minegishi et al. 2025)"
F8020 = "80/20 forking tokens (Wang et al. 2025)"
VERL = "VERL effective rank (2025)"
ROY = "Roy & Vetterli 2007"
OWN = "reasongraph"
LED = "Latent Exploration Decoding (arXiv 2602.01698), logit lens"
HRSA = "HRSA (arXiv 2601.21192); linear CKA of Kornblith et al. 2019"

#: Panels of the trace view, in order: (key, title).
PANELS = (("cycles", "Cycles in hidden-state space"), ("shape", "Graph shape"), ("token", "Token entropy"),
          ("hidden", "Hidden-state spread"), ("levels", "Where the levels meet"))


@dataclass(frozen=True)
class Metric:
    """One reported number.

    key : its name in metrics dicts, rows.jsonl, summary.json and compare.
    label, help : a short label and a one-line explanation, shown in tables and the HTML views.
    panel : the trace view's panel (:data:`PANELS`), or None for numbers shown only in the full table.
    level : per trace "token", "hidden", "graph", "levels" (where the two meet) or "size"; "samples" for the
        diversity of a prompt's samples, "group" for a statistic over a group or a pair of groups, "locus" for
        ``reasongraph locus``'s comparison of two checkpoints on the same texts.
    direction : "+" when a higher value means more exploration or cyclicity, "-" when a lower one does, "" when
        neither reading applies.
    compare : whether ``reasongraph compare`` shows it by default.
    distribution : whether the dataset report draws its distribution per group.
    top : whether the report's table of the most cyclic traces has a column for it.
    summary : its column label in ``score``'s summary table ("" for none).
    definition, source, check : for docs/metrics.md: the exact definition, the paper it follows, check values.
    """

    key: str
    label: str
    help: str
    panel: str | None
    level: str
    direction: str = ""
    compare: bool = False
    distribution: bool = False
    top: bool = False
    summary: str = ""
    definition: str = ""
    source: str = OWN
    check: str = ""


METRICS: tuple[Metric, ...] = (
    # ------------------------------------------------------------------ size
    Metric("n_tokens", "tokens", "trace tokens (the prompt excluded)", None, "size", compare=True, top=True,
           definition="Number of trace tokens after tokenization (and truncation, if asked)."),
    Metric("n_steps", "steps", "reasoning steps (the nodes of the walk)", "cycles", "size", compare=True, top=True,
           definition="Steps of the trace: with the newline segmenter, lines stripped of white space and longer "
                      "than 5 characters.", source=TOR),
    # ------------------------------------------------------------------ cycles
    Metric("n_nodes", "nodes", "distinct hidden-state clusters the trace visits", "cycles", "graph",
           definition="Distinct clusters among the steps' labels (dropped steps excluded).", source=TOR),
    Metric("n_edges", "edges", "distinct transitions between clusters", "cycles", "graph",
           definition="Distinct directed edges between consecutive steps in different clusters; no self-loops.",
           source=TOR),
    Metric("loop_exists", "loop exists", "some cluster is visited again after another one in between", None,
           "graph", "+", compare=True,
           definition="True when some node is visited again after at least one other node in between (A,B,A); "
                      "A,A never counts. Its mean over traces is the detection ratio.", source=TOR,
           check="walk [0,1,0] -> True; [0,0,1] -> False"),
    Metric("loop_count", "loop count", "returns to the first revisited cluster (the paper's released code)",
           "cycles", "graph", "+", compare=True, distribution=True, top=True, summary="loops",
           definition="As the released code: the first node revisited that way, its number of maximal runs in "
                      "the walk minus 1.", source=TOR, check="walk [0,1,0,2,0] -> 2"),
    Metric("max_revisits", "max revisits", "most returns to any one cluster (the paper's text)", "cycles",
           "graph", "+", compare=True, top=True,
           definition="The largest number of returns to one node: max over nodes of (maximal runs - 1).",
           source=TOR, check="walk [0,1,0,1,2,1] -> 2"),
    Metric("n_revisits", "revisit events", "steps that re-enter an earlier cluster with another in between",
           "cycles", "graph", "+", compare=True, distribution=True, top=True, summary="revisits",
           definition="Revisit events: for each node, its maximal runs minus 1, summed over nodes.", source=TOR,
           check="walk [0,1,0,1,2,1] -> 3"),
    Metric("revisits_per_step", "revisits per step", "revisit events per step (length-controlled)", "cycles",
           "hidden", "+", compare=True, distribution=True,
           definition="n_revisits / n_steps: the per-step rate to compare between groups of different length.",
           check="walk [0,1,0,1,2,1] -> 0.5"),
    Metric("cycles_upto_k", "short cycles", "simple directed cycles of at most k nodes", "cycles", "graph", "+",
           compare=True,
           definition="Simple directed cycles of length <= k (default 5) in the graph, counted exactly up to a "
                      "cap; cycles_truncated says the cap was hit.", check="edges 0->1->0, 1->2->1 -> 2"),
    Metric("cycles_truncated", "cycle count capped", "the cycle count reached its cap", None, "graph"),
    Metric("scc_share", "share in cycles", "share of nodes inside a strongly connected component of size > 1",
           "cycles", "graph", "+",
           definition="Share of nodes that lie in a strongly connected component of more than one node."),
    # ------------------------------------------------------------------ graph shape
    Metric("diameter", "diameter", "longest shortest path, L2 step distances (compare ratios only)", "shape",
           "graph", "+", compare=True,
           definition="Longest finite directed shortest path (Dijkstra) over ordered pairs; edge weight = L2 "
                      "distance between consecutive step vectors, the smallest over repeated transitions as in "
                      "the released code. Unreachable pairs are ignored.", source=TOR),
    Metric("diameter_hops", "diameter (hops)", "longest shortest path in edges", "shape", "graph", "+",
           compare=True, distribution=True,
           definition="The diameter counted in edges.", source=TOR, check="path 0->1->2 -> 2"),
    Metric("avg_clustering", "clustering", "average local clustering (undirected, degree >= 2)", "shape", "graph",
           definition="Average local clustering coefficient of the undirected simple graph over nodes of "
                      "degree >= 2 only.", source=TOR, check="a triangle -> 1.0"),
    Metric("c_rand", "C random", "clustering of a random graph of the same size and mean degree", None, "graph",
           definition="<k> / (N - 1).", source=TOR),
    Metric("path_length", "path length", "mean shortest path, L2 weights", None, "graph",
           definition="Mean finite directed shortest path over ordered pairs, L2 weights.", source=TOR),
    Metric("path_length_hops", "path length (hops)", "mean shortest path in edges", "shape", "graph",
           definition="Mean finite directed shortest path in edges.", source=TOR),
    Metric("l_rand", "L random", "path length of a random graph of the same size and mean degree", None, "graph",
           definition="ln N / ln <k> (NaN when <k> <= 1).", source=TOR),
    Metric("small_world", "small-world", "(C / C_rand) / (L / L_rand), weighted L", "shape", "graph", "+",
           compare=True,
           definition="(C / C_rand) / (L / L_rand) with the L2-weighted L. The released code never computes it.",
           source=TOR),
    Metric("small_world_hops", "small-world (hops)", "(C / C_rand) / (L / L_rand), hop L", "shape", "graph", "+",
           compare=True, distribution=True,
           definition="(C / C_rand) / (L / L_rand) with L in hops.", source=TOR),
    Metric("cyclomatic", "cyclomatic", "E - V + C: independent cycles", "shape", "graph", "+",
           definition="E - V + C, C the weakly connected components.", check="edges 0->1, 1->0 -> 1"),
    Metric("visit_gini", "visit Gini", "how unevenly the walk's steps fall on its nodes (0 even, towards 1 on "
           "one node)", "shape", "graph", "-", compare=True, distribution=True,
           definition="G = sum_ij |x_i - x_j| / (2 n^2 mean(x)) over the visit counts x (steps per node) of the "
                      "visited nodes; NaN with fewer than 3 visited nodes.",
           check="[4,2,1,1] -> 0.3125; [2,2,2,2] -> 0"),
    Metric("visit_decay", "visit decay", "rank-frequency decay exponent of node visits (steeper: more "
           "concentrated)", "shape", "graph", "-", compare=True,
           definition="Minus the least-squares slope of ln(count) against ln(rank), the visit counts sorted in "
                      "decreasing order (rank 1 the most visited); NaN with fewer than 3 visited nodes. A later "
                      "paper of the Topology of Reasoning group reports it about 2.5x steeper after RL.",
           check="[8,4,2,1] -> 1.459022"),
    # ------------------------------------------------------------------ token level
    Metric("mean_entropy", "mean entropy", "mean next-token entropy over the trace, nats", "token", "token", "+",
           compare=True, distribution=True, top=True, summary="entropy",
           definition="H_i = -sum_j p_j ln p_j, p = softmax(z / T) over the whole vocabulary from the logits "
                      "that predicted token i; the mean over the trace's tokens (NaN ignored). H_mean of the seed "
                      "question.", source=F8020,
           check="H([.5,.5]) = 0.693147; H([.8,.1,.1]) = 0.639032; uniform over 4 = 1.386294"),
    Metric("median_entropy", "median entropy", "median next-token entropy, nats", "token", "token", "+"),
    Metric("low_entropy_share", "share < 0.01", "share of near-deterministic tokens (H < 0.01 nats)", "token",
           "token", "-", compare=True,
           definition="Share of tokens with H < 0.01 nats (H_low_share; over half in the 80/20 paper).",
           source=F8020),
    Metric("entropy_p80", "80th percentile", "entropy above which a token is in the top 20%", "token", "token",
           "+", definition="The 80th percentile of the trace's token entropies (linear interpolation).",
           source=F8020),
    Metric("n_forking", "forking tokens", "tokens in the trace's top rho by entropy", None, "token"),
    Metric("forking_share", "forking share", "share of forking tokens (about rho by construction)", None, "token"),
    Metric("forking_share_pooled", "forking share (run)", "share of tokens above the run-wide top-rho threshold",
           None, "token", "+", compare=True, summary="forking",
           definition="Share of the trace's tokens at or above one run-wide threshold: the top-rho entropy of "
                      "all tokens of the run (a seeded sample of at most 2M), or above an absolute threshold."),
    Metric("forking_share_ref", "forking share (ref A)", "share of tokens above group A's top-20% threshold",
           None, "token", "+", compare=True,
           definition="Share of the trace's tokens at or above the reference group A's pooled top-rho "
                      "threshold (rho = 0.2): forking_share_ref of the seed question."),
    Metric("onset_entropy_mean", "onset entropy", "mean entropy of the tokens that begin a step, nats", "token",
           "token", "+", compare=True,
           definition="Mean over steps of the onset entropy: the largest H_i over the step's first m tokens and "
                      "the w tokens before it (defaults m = 1, w = 0: the entropy that chose how the step "
                      "begins)."),
    Metric("n_markers", "aha markers", "lexical self-correction cues (Wait, Hmm, Actually, ...)", "levels",
           "token", "+", definition="Occurrences of the aha-marker patterns in the text (whole words, case "
                                    "insensitive, non-overlapping)."),
    # ------------------------------------------------------------------ hidden level
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
    # ------------------------------------------------------------------ where the levels meet
    Metric("align_n_hidden_only", "hidden-only", "revisits with no onset spike: exploration token entropy misses",
           "levels", "levels", "+", compare=True, distribution=True, top=True, summary="hidden-only",
           definition="Revisit steps whose onset entropy is below the forking threshold."),
    Metric("align_hidden_only_share", "hidden-only share", "hidden-only events / revisits", "levels", "levels",
           "+", compare=True, definition="align_n_hidden_only / n_revisits (NaN without a revisit)."),
    Metric("align_n_token_only", "token-only", "onset spikes that are not revisits", "levels", "levels",
           definition="Steps with an onset spike that are not revisits."),
    Metric("align_odds_ratio", "odds ratio", "revisit x onset spike odds ratio (Haldane-corrected on a 0 cell)",
           "levels", "levels",
           definition="(a d) / (b c) of the revisit x onset-spike step table; +0.5 on every cell when one is 0 "
                      "(Haldane), flagged by align_odds_ratio_corrected."),
    Metric("align_fisher_p", "Fisher p", "Fisher's exact test of the revisit x spike table, two-sided",
           "levels", "levels", definition="scipy.stats.fisher_exact on the step table, two-sided."),
    Metric("align_fisher_p_greater", "Fisher p (OR > 1)", "Fisher's exact test, one-sided: revisits begin at "
           "forks more often", None, "levels"),
    Metric("align_onset_fork_rate", "onset fork rate", "share of steps that begin with a forking token",
           "levels", "levels",
           definition="Observed share of steps with an onset spike; under the null 1 - (1 - rho)^(m + w) "
                      "(align_onset_fork_null)."),
    Metric("align_spike_rate", "spike rate", "share of steps with a spike under the token-relative rule",
           "levels", "levels",
           definition="Steps with a spike / steps under the alignment's rule (the default: onset entropy in the "
                      "trace's top rho of tokens). Above 0.8 the rule is near-saturated (align_near_saturated): "
                      "nearly every step spikes, so few hidden-only events can exist by construction."),
    Metric("align_near_saturated", "near-saturated", "the token-relative spike rate is above 0.8", "levels",
           "levels", definition="align_spike_rate > 0.8; its mean over a group is the share of flagged traces."),
    Metric("align_rel_odds_ratio", "OR (onset-relative)", "revisit x spike odds ratio under the onset-relative "
           "rule", "levels", "levels",
           definition="The revisit x spike step table when the ceil(rho * n) steps with the highest onset entropy "
                      "spike (ties to the earlier step; n the steps with a defined onset entropy, at least 5, "
                      "else NaN). It marks rho of the steps by construction, so it cannot saturate: it asks "
                      "whether revisits begin at the more uncertain decisions. Haldane-corrected on a 0 cell.",
           check="onset entropies [0.5, 0.9, 0.9, 0.1, 0.3], rho 0.2 -> step 1 spikes (tie to the earlier)"),
    Metric("align_rel_hidden_only_share", "hidden-only share (onset-relative)", "revisits without an "
           "onset-relative spike / revisits", "levels", "levels", "+",
           definition="Under the onset-relative rule: revisit steps that are not among the top ceil(rho * n) "
                      "onsets / revisits. An association only: rho of the steps spike whatever the policy does."),
    Metric("align_p_value", "permutation p", "span rule only: circular-shift permutation p", None, "levels"),
    Metric("align_enrichment", "enrichment", "P(spike | revisit) / P(spike | no revisit)", None, "levels"),
    Metric("marker_revisit_odds_ratio", "marker x revisit OR", "odds ratio of aha markers at revisits: are "
           "cycles aha moments?", "levels", "levels", "+",
           definition="Odds ratio of the revisit x marker step table (Haldane-corrected on a 0 cell).",
           source=TOR),
    Metric("marker_spike_odds_ratio", "marker x spike OR", "odds ratio of aha markers at onset spikes",
           None, "levels"),
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
    # ------------------------------------------------------------------ pooled over a group, compared between two
    Metric("mh_odds_ratio", "pooled odds ratio", "revisit x onset spike, Mantel-Haenszel over a group's traces",
           None, "group", definition="sum(a d / n) / sum(b c / n) over the traces' 2x2 tables (strata), with the "
                                     "Cochran-Mantel-Haenszel test (continuity-corrected) and a Robins-Breslow-"
                                     "Greenland CI.", check="tables [[2,1],[1,2]] and [[3,1],[1,3]] -> 43/7 = 6.142857"),
    Metric("hidden_only_share", "pooled hidden-only share", "hidden-only events / revisits over a group", None,
           "group", definition="Sum of hidden-only events / sum of revisits over a group's traces, with a bootstrap "
                               "CI over traces."),
    Metric("spike_rate", "pooled spike rate", "steps with a spike / steps over a group (token-relative rule)",
           None, "group", definition="Summed over the group's traces; near_saturated when above 0.8."),
    Metric("near_saturated", "near-saturated", "the group's pooled spike rate is above 0.8", None, "group"),
    Metric("rel_mh_odds_ratio", "pooled OR (onset-relative)", "revisit x onset-relative spike, Mantel-Haenszel "
           "over the traces where the rule is defined", None, "group",
           definition="As mh_odds_ratio, on the onset-relative tables (traces with at least 5 defined onsets)."),
    Metric("rel_hidden_only_share", "pooled hidden-only share (onset-relative)", "hidden-only events / revisits "
           "under the onset-relative rule, over a group", None, "group",
           definition="As hidden_only_share, on the onset-relative tables, with a bootstrap CI over traces."),
    Metric("token_collapse", "token collapse", "1 - H_mean ratio B/A", None, "group",
           definition="1 - mean_B(H_mean) / mean_A(H_mean) over pairs of problems, with a paired bootstrap CI. The "
                      "seed question's claim is token_collapse > hidden collapse: each difference "
                      "(difference_erank, difference_spread) is reported with a paired bootstrap CI and a "
                      "sign-flip p."),
    Metric("hidden_collapse_erank", "hidden collapse (one trajectory)", "1 - erank_window ratio B/A", None,
           "group", definition="1 - mean_B(erank_window) / mean_A(erank_window) over pairs, with a paired "
                               "bootstrap CI: the spread within one trajectory. Named hidden_collapse before the "
                               "cross-sample spread existed (renamed, so that nothing silently changes meaning); "
                               "it barely moves on one-template samples."),
    Metric("hidden_collapse_spread", "hidden collapse (across samples)", "1 - cosine_spread ratio B/A", None,
           "group", definition="1 - mean_B(cosine_spread) / mean_A(cosine_spread) over prompts paired by problem, "
                               "with a paired bootstrap CI: the spread across a prompt's samples, which falls on "
                               "the template control."),
    Metric("difference_erank", "token - hidden collapse (erank)", "token_collapse - hidden_collapse_erank", None,
           "group", definition="ratio(erank_window) - ratio(H_mean) over pairs where both are defined, with a paired "
                               "bootstrap CI and a sign-flip p. Named difference before the spread existed."),
    Metric("difference_spread", "token - hidden collapse (spread)", "token_collapse - hidden_collapse_spread",
           None, "group", definition="ratio(cosine_spread) - ratio(H_mean) over pairs where both are defined, with "
                                     "a paired bootstrap CI and a sign-flip p."),
    Metric("control_share", "share of the control's range", "(A - B) / (A - C) of each collapse, C a control "
           "group of known collapse", None, "group",
           definition="(mean A - mean B) / (mean A - mean C) over pairs shared by the three groups, with a "
                      "bootstrap CI over pairs: 0 when B is where A is, 1 when B is as collapsed as the control C "
                      "(compare --control). n/a without a control group."),
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

_BY_KEY = {m.key: m for m in METRICS}


def by_key(key: str) -> Metric | None:
    """The catalogue entry of ``key``, None for a number the catalogue does not describe."""
    return _BY_KEY.get(key)


_LEVEL_ORDER = ("token", "hidden", "graph", "levels", "size")


def compare_keys() -> tuple[str, ...]:
    """What ``compare`` shows by default: token level first, then hidden, graph, where they meet, and size."""
    chosen = [m for m in METRICS if m.compare]
    return tuple(m.key for m in sorted(chosen, key=lambda m: _LEVEL_ORDER.index(m.level)))


def distribution_keys() -> tuple[str, ...]:
    """The metrics whose per-group distributions the dataset report draws."""
    return tuple(m.key for m in METRICS if m.distribution)


def top_keys() -> tuple[str, ...]:
    """The columns of the report's table of the most cyclic traces."""
    return tuple(m.key for m in METRICS if m.top)


def summary_keys() -> tuple[tuple[str, str], ...]:
    """(key, column label) of ``score``'s summary table."""
    return tuple((m.key, m.summary) for m in METRICS if m.summary)


def panel(key: str) -> tuple[Metric, ...]:
    """The metrics of one panel of the trace view, in catalogue order."""
    return tuple(m for m in METRICS if m.panel == key)


def markdown() -> str:
    """docs/metrics.md: every documented metric with its definition, source and check values."""
    out = ["# Metrics", "",
           "Every number reasongraph reports, as `reasongraph.catalogue` lists it (this page is generated from it: "
           "`python -m reasongraph.catalogue > docs/metrics.md`). Keys are the names in metrics dicts, rows.jsonl, "
           "summary.json and `reasongraph compare`. Direction: + when a higher value means more exploration or "
           "cyclicity, - when a lower one does.", ""]
    for level, title in (("size", "Size"), ("graph", "The reasoning graph"), ("token", "Token level"),
                         ("hidden", "Hidden-state level"), ("levels", "Where the levels meet"),
                         ("samples", "Several samples of one prompt"), ("group", "Over a group, and two groups"),
                         ("locus", "Two checkpoints on the same texts (reasongraph locus)")):
        out += [f"## {title}", ""]
        for m in METRICS:
            if m.level != level:
                continue
            out.append(f"- **`{m.key}`** ({m.label}{', ' + m.direction if m.direction else ''}): "
                       f"{m.definition or m.help[:1].upper() + m.help[1:] + '.'}")
            if m.source != OWN:
                out.append(f"  Source: {m.source}.")
            if m.check:
                out.append(f"  Check: {m.check}.")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")
