"""Where the levels meet: revisits against entropy spikes and aha markers
(:meth:`reasongraph.analysis.alignment.alignment.Alignment.as_dict`), with the onset entropy the spike rule reads."""
from __future__ import annotations

from typing import TYPE_CHECKING

from reasongraph.analysis.metrics.family import TraceMetrics
from reasongraph.core.metric import TOR, Metric

if TYPE_CHECKING:
    from reasongraph.analysis.metrics.context import TraceContext

__all__ = ["ENTRIES", "FAMILY", "compute"]

ENTRIES: tuple[Metric, ...] = (
    Metric("onset_entropy_mean", "onset entropy", "mean entropy of the tokens that begin a step, nats", "token",
           "token", "+", compare=True,
           definition="Mean over steps of the onset entropy: the largest H_i over the step's first m tokens and "
                      "the w tokens before it (defaults m = 1, w = 0: the entropy that chose how the step "
                      "begins)."),
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


def compute(ctx: TraceContext) -> dict:
    """The alignment's cells and statistics (marker fields None without markers)."""
    return ctx.alignment.as_dict()


FAMILY = TraceMetrics("alignment", ENTRIES, compute)
