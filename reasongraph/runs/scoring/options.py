"""The options of a scoring run (:class:`ScoreOptions`, flat: extraction, clustering, forking tokens, alignment,
the run, the seed; :class:`RunOptions`, :class:`EngineOptions`), each defined once
(:mod:`reasongraph.core.options`) and checked before any model is loaded or any file written. Light: the command
line builds its flags from here."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasongraph.analysis.options import AlignOptions
from reasongraph.core.errors import InputError, opt
from reasongraph.core.options import (Check, Choice, Flag, OptionalInt, Options, Seeded, compose, option,
                                      positive_int)
from reasongraph.core.option_checks import PathOrNone
from reasongraph.graph.cluster.options import ClusterOptions
from reasongraph.runs.engines.registry import engine_names
from reasongraph.trace.options import KEEP_HIDDEN, ExtractOptions, ForkingOptions

__all__ = ["EngineOptions", "RunOptions", "ScoreOptions"]

ON_ERROR = ("skip", "fail")


@dataclass(frozen=True)
class RunOptions(Options):
    """How a run extracts, caches and fails."""

    batch_size: int | None = option(None, check=OptionalInt(low=1), metavar="N", parse=positive_int,
                                    help="records per extraction batch (default: automatic, 16 records, fewer once a "
                                         "batch holds 32k characters; the manifest records it as null)")
    keep_hidden: bool = option(KEEP_HIDDEN, check=Flag(),
                               help="cache every token's hidden states too (float16); by default the cache keeps each "
                                    "layer's step vectors and hidden-state summary only")
    on_error: str = option("skip", check=Choice(*ON_ERROR),
                           help="skip bad records (listed in errors.jsonl) or stop at the first (exit 2)")
    cache_dir: str | Path | None = option(None, check=PathOrNone(), metavar="DIR", identity=False,
                                          help="extraction cache folder (default DIR/traces); shareable between runs")


class _Engine(Choice):
    """A registered engine's name, or an Engine object (checked when opened)."""

    def __call__(self, name: str, value: Any) -> Any:
        return super().__call__(name, value) if isinstance(value, str) else value


@dataclass(frozen=True)
class EngineOptions(Options):
    """Where a run computes; never in its identity: a run begun on one engine resumes on another."""

    engine: Any = option("local", check=_Engine(names=engine_names), identity=False,
                         help="local: this process; ray: extraction on an actor pool and the metrics on CPU tasks "
                              "across a Ray cluster (pip install 'reasongraph[ray]'), with the same rows; a run begun "
                              "on one engine resumes on the other")
    ray_address: str | None = option(None, check=Check(), metavar="ADDR", identity=False,
                                     help="with --engine ray: the cluster to join, host:port or auto (default: "
                                          "RAY_ADDRESS, else the cluster this machine joined with 'ray start', else a "
                                          "new local Ray instance). On a cluster of several nodes the trace cache "
                                          "(--cache-dir, default DIR/traces) must be an absolute path on a filesystem "
                                          "every node mounts (NFS, Lustre...)")
    workers: int | None = option(None, check=OptionalInt(low=1), metavar="N", parse=positive_int, identity=False,
                                 help="with --engine ray: extraction workers, each holding one model (default: one per "
                                      "GPU, one per node without GPUs)")


_Score = compose("_Score", ExtractOptions, ClusterOptions, ForkingOptions, AlignOptions, RunOptions, Seeded)


@dataclass(frozen=True)
class ScoreOptions(_Score):
    """Everything besides the input, the models and the output folder that changes how a run scores."""

    #: The options that go to analyze_trace (pass 2, and a report rebuilding a run's analyses).
    ANALYSIS_KEYS = (*ForkingOptions.names(), *AlignOptions.names(), *Seeded.names())

    def validate(self) -> None:
        """A run's layers: at least one, and no negative index (each layer keeps its place among the layer columns)."""
        if not self.layers:
            raise InputError(f"{opt('layers')} must name at least one layer: the first gives the step vectors")
        if any(isinstance(x, int) and x < 0 for x in self.layers):
            raise InputError(f"{opt('layers')}: a scoring run takes layer indices >= 0 or depth ratios, so each "
                             f"layer keeps its place among the layer columns; got {list(self.layers)}")

    def cache_options(self, layer_ids: tuple[int, ...], temperature: float, *, prefix_tokens: int = 0) -> dict:
        """What a cached trace depends on (:func:`~reasongraph.trace.cache.trace_cache_options`) in this run, at
        ``temperature``."""
        from reasongraph.trace.cache import trace_cache_options  # loads numpy

        return trace_cache_options(layer_ids, segment=self.segment, temperature=temperature,
                                   prompt_format=self.prompt_format, truncate=self.truncate,
                                   keep_hidden=self.keep_hidden, prefix_tokens=prefix_tokens)

    def analysis_options(self) -> dict:
        """Keyword arguments of :func:`~reasongraph.analysis.one_trace.analyze_trace`: this run's forking,
        alignment and seed options."""
        return {name: getattr(self, name) for name in self.ANALYSIS_KEYS}

