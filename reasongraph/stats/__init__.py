"""The statistics of reasongraph's comparisons: 2x2 tables, Mantel-Haenszel pooling, bootstraps, sign flips.

Per trace, the alignment of revisits with onset spikes is a 2x2 table (:class:`TwoByTwo`: odds ratio and
Fisher's exact test). Over a run or group the traces are strata: :func:`mantel_haenszel` pools their tables
without letting long traces or between-trace differences in base rates fake an association, and
:func:`pooled_share` gives a ratio of sums (such as the hidden-only share of all revisits) with a bootstrap CI
over traces. Two groups paired by problem are compared by ratios of means (:func:`paired_ratio`) and
sign-flip tests (:func:`sign_flip_p`).

Everything is float64 and seeded (``numpy.random.default_rng(seed)``): the same seed gives the same numbers.
scipy.stats supplies the hypergeometric, chi-square and normal distributions (and the reference values of
Fisher's test, see :func:`fisher_p_values`); it has no Mantel-Haenszel estimator, a ratio-of-sums bootstrap or a
sign-flip test, so those few lines live here.

Layer 1: statistics on plain arrays (no model, no files).
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "bootstrap_ci": "reasongraph.stats.bootstrap",
    "bootstrap_interval": "reasongraph.stats.bootstrap",
    "entropy_changes": "reasongraph.stats.entropy_dynamics",
    "entropy_performance_fit": "reasongraph.stats.entropy_law",
    "EntropyLaw": "reasongraph.stats.entropy_law",
    "fisher_p_values": "reasongraph.stats.two_by_two",
    "fit_entropy_law": "reasongraph.stats.entropy_law",
    "forecast_entropy_law": "reasongraph.stats.entropy_law",
    "group_advantages": "reasongraph.stats.entropy_dynamics",
    "holm": "reasongraph.stats.paired",
    "logprob_advantage_covariance": "reasongraph.stats.entropy_dynamics",
    "logprob_sums": "reasongraph.stats.entropy_dynamics",
    "MantelHaenszel": "reasongraph.stats.mantel_haenszel",
    "MIN_CHECKPOINTS": "reasongraph.stats.entropy_law",
    "odds_ratio": "reasongraph.stats.two_by_two",
    "paired_ratio": "reasongraph.stats.paired",
    "pooled_share": "reasongraph.stats.mantel_haenszel",
    "ReservoirSample": "reasongraph.stats.reservoir",
    "sample_covariance": "reasongraph.stats.entropy_dynamics",
    "sign_flip_p": "reasongraph.stats.paired",
    "TwoByTwo": "reasongraph.stats.two_by_two",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
