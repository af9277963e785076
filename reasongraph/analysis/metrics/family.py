"""A family of per-trace metrics (:class:`TraceMetrics`): the numbers one function computes from a trace's
:class:`~reasongraph.analysis.metrics.context.TraceContext`, with the catalogue entries that document them.

The built-in families are the modules next to this one (size, walk, topology, ...); a new one is registered with
:func:`reasongraph.analysis.metrics.registry.register_metric`.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reasongraph.core.errors import InputError
from reasongraph.core.metric import Metric

if TYPE_CHECKING:
    from reasongraph.analysis.metrics.context import TraceContext

__all__ = ["TraceMetrics"]


@dataclass(frozen=True)
class TraceMetrics:
    """Per-trace metrics computed together.

    name : a word naming the family (what a run's manifest lists for a registered one).
    entries : the catalogue entries of the keys it documents, in the order the catalogue lists them.
    compute : ``compute(ctx) -> {key: value}``, the keys in the order rows get them; values JSON-able numbers,
        booleans, strings or None.
    per_layer : keys the layer columns repeat for each further layer as ``"<key>@<layer>"`` (each one documented in
        ``entries``), in the order rows get them. The context of a further layer holds the trace, that layer's
        labels and the ``length_bound`` option only: a per-layer family reads the graph and the hidden summary,
        not the token-level options (rho, rule, markers...).
    """

    name: str
    entries: tuple[Metric, ...]
    compute: Callable[[TraceContext], Mapping[str, Any]]
    per_layer: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z_]\w*", self.name):
            raise InputError(f"TraceMetrics: a family name is a word, got {self.name!r}")
        object.__setattr__(self, "entries", tuple(self.entries))
        object.__setattr__(self, "per_layer", tuple(self.per_layer))
        if not all(isinstance(m, Metric) for m in self.entries):
            raise InputError(f"TraceMetrics {self.name!r}: entries must be reasongraph.core.metric.Metric records")
        if not callable(self.compute):
            raise InputError(f"TraceMetrics {self.name!r}: compute must be a function of the trace's context")
        undocumented = set(self.per_layer) - {m.key for m in self.entries}
        if undocumented:
            raise InputError(f"TraceMetrics {self.name!r}: per_layer keys {sorted(undocumented)} have no entry")

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys its entries document."""
        return tuple(m.key for m in self.entries)
