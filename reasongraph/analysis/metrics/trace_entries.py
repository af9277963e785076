"""The catalogue entries of the per-trace metrics: size, the reasoning graph's cycles and shape, the token level,
the hidden level and where the levels meet (rows of rows.jsonl, in row order)."""
from __future__ import annotations

from reasongraph.core.metric import F8020, Metric, ROY, TOR, VERL

__all__ = ["ENTRIES"]

ENTRIES: tuple[Metric, ...] = (
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
)
