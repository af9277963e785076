"""The options of a scoring run, checked once, before any model is loaded or any file written."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from reasongraph.core.checks import check_choice, check_optional_int
from reasongraph.core.errors import InputError, opt
from reasongraph.runs.scoring.k_choice import check_k
from reasongraph.trace.cache import trace_cache_options

__all__ = ["ScoringOptions"]

METHODS = ("kmeans", "hdbscan")
CLUSTER_BY = ("model", "group")
ON_ERROR = ("skip", "fail")


@dataclass(frozen=True)
class ScoringOptions:
    """Everything besides the input, the models and the output folder that changes how a run scores."""

    layers: tuple
    segment: str
    prompt_format: str
    temperature: float
    truncate: bool
    k: int | str
    method: str
    cluster_by: str
    fit_sample: int | None
    rho: float
    forking_threshold: float | None
    rule: str
    onset_tokens: int
    lookback: int
    n_shifts: int
    batch_size: int | None
    keep_hidden: bool
    on_error: str
    seed: int

    #: The options that go to analyze_trace (pass 2, and a report rebuilding a run's analyses).
    ANALYSIS_KEYS = ("rho", "forking_threshold", "rule", "onset_tokens", "lookback", "n_shifts", "seed")

    @classmethod
    def checked(cls, **given: Any) -> "ScoringOptions":
        """Check every option (one InputError naming the first bad one) and keep those this class holds."""
        from reasongraph.analysis.one_trace import check_analysis_options
        from reasongraph.trace.options import check_extract_options

        check_extract_options(layers=given["layers"], segment=given["segment"],
                              prompt_format=given["prompt_format"], temperature=given["temperature"],
                              truncate=given["truncate"])
        check_analysis_options(**{k: given[k] for k in cls.ANALYSIS_KEYS})  # the checks analyze_trace makes
        check_k(given["k"])
        check_choice("method", given["method"], METHODS)
        check_choice("cluster_by", given["cluster_by"], CLUSTER_BY)
        check_optional_int("fit_sample", given["fit_sample"], low=1)
        check_optional_int("batch_size", given["batch_size"], low=1)
        check_choice("on_error", given["on_error"], ON_ERROR)
        if not isinstance(given["keep_hidden"], bool):
            raise InputError(f"{opt('keep_hidden')} must be True or False, got {given['keep_hidden']!r}")
        layers = given["layers"]
        layers = (layers,) if isinstance(layers, (int, float, np.integer)) else tuple(layers)
        if not layers:
            raise InputError(f"{opt('layers')} must name at least one layer: the first gives the step vectors")
        if any(isinstance(x, int) and x < 0 for x in layers):
            raise InputError(f"{opt('layers')}: a scoring run takes layer indices >= 0 or depth ratios, so each "
                             f"layer keeps its place in the sweep; got {list(layers)}")
        return cls(**{name: (layers if name == "layers" else given[name]) for name in cls.__dataclass_fields__})

    def identity(self) -> dict:
        """The options as they go into the run's manifest (its identity)."""
        d = asdict(self)
        d["layers"] = list(self.layers)
        d["temperature"] = float(self.temperature)
        return d

    def cache_options(self, layer_ids: tuple[int, ...], temperature: float, *, prefix_tokens: int = 0) -> dict:
        """What a cached trace depends on (:func:`trace_cache_options`) in this run, at ``temperature``."""
        return trace_cache_options(layer_ids, segment=self.segment, temperature=temperature,
                                   prompt_format=self.prompt_format, truncate=self.truncate,
                                   keep_hidden=self.keep_hidden, prefix_tokens=prefix_tokens)

    def analysis_options(self) -> dict:
        """Keyword arguments of :func:`~reasongraph.analysis.one_trace.analyze_trace`."""
        return {k: getattr(self, k) for k in self.ANALYSIS_KEYS}
