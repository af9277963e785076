"""The options of the alignment of revisits with entropy spikes (:class:`AlignOptions`) and of a trace's analysis
(:class:`AnalysisOptions`: :func:`~reasongraph.analysis.one_trace.analyze_trace`'s), each defined once
(:mod:`reasongraph.core.options`). Light: the command line builds its flags from here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reasongraph.core.options import Check, Choice, Int, Options, OptionalInt, Seeded, compose, derived, option
from reasongraph.graph.cluster.options import ClusterOptions  # noqa: F401 (AnalysisOptions.k derives from it)
from reasongraph.trace.options import ForkingOptions

__all__ = ["MAX_SHIFTS", "RULES", "AlignOptions", "AnalysisOptions", "Markers"]

#: The step-level spike rules of :func:`~reasongraph.analysis.alignment.align`, the default first.
RULES = ("onset", "span")
#: The most circular shifts of the span rule's permutation test: a p-value resolution of 1e-6 is plenty, and each
#: shift costs memory in proportion to the revisits.
MAX_SHIFTS = 1_000_000


@dataclass(frozen=True)
class AlignOptions(Options):
    """When a step has an entropy spike, and the permutation test of the span rule."""

    rule: str = option("onset", check=Choice(*RULES),
                       help="when a step has an entropy spike: onset (one of its first --onset-tokens tokens forks, so "
                            "a step can have none and the revisit x spike test can tell something) or span (any of "
                            "its tokens forks: nearly always true on long steps, so the test tells little)")
    onset_tokens: int = option(1, check=Int(low=1), metavar="M", help="tokens of a step's onset")
    lookback: int = option(0, check=Int(low=0), metavar="W",
                           help="tokens before a step that count for its spike (0: the step's own tokens only)")
    n_shifts: int = option(1000, check=Int(0, MAX_SHIFTS), metavar="N",
                           help="circular shifts of the span rule's permutation p-value (0: none)")


class Markers(Check):
    """None, or a list of regular expressions (aha markers)."""

    def __call__(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        from reasongraph.trace.markers import compile_patterns  # loads numpy

        compile_patterns(value, name=name)
        return value

    def describe(self) -> str:
        return "None or a list of regular expressions"


_Analysis = compose("_Analysis", ForkingOptions, AlignOptions, Seeded)


@dataclass(frozen=True)
class AnalysisOptions(_Analysis):
    """The options of one trace's analysis (`analyze_trace`)."""

    length_bound: int = option(5, check=Int(low=2), cli=False,
                               help="the longest cycle (in nodes) counted by cycles_upto_k")
    markers: Any = option(None, check=Markers(), cli=False, to_identity=lambda m: None if m is None else list(m),
                          help="regular expressions of aha markers (default: the built-in AHA_MARKERS)")
    k: int | None = derived("ClusterOptions.k", default=None, check=OptionalInt(low=1), parse=int, metavar=None,
                            help="K of the single-trace KMeans (default: a third of the steps)")

    def params(self) -> dict:
        """The options as :attr:`Analysis.params` holds them (without the layer and the clustering's own)."""
        return {k: v for k, v in self.identity().items() if k != "k"}

