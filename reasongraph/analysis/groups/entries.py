"""The catalogue entries of the statistics over a group of traces, and between two groups."""
from __future__ import annotations

from reasongraph.core.metric import Metric

__all__ = ["ENTRIES"]

ENTRIES: tuple[Metric, ...] = (
    # ------------------------------------------------------------------ pooled over a group, compared between two
    Metric("mh_odds_ratio", "pooled odds ratio", "revisit x onset spike, Mantel-Haenszel over a group's traces",
           None, "group", definition="sum(a d / n) / sum(b c / n) over the traces' 2x2 tables (strata), with the "
                                     "Cochran-Mantel-Haenszel test (continuity-corrected) and a Robins-Breslow-"
                                     "Greenland CI.",
           check="tables [[2,1],[1,2]] and [[3,1],[1,3]] -> 43/7 = 6.142857"),
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
)
