"""What the metric families of one trace read (:class:`TraceContext`): the trace, its step labels at one layer,
the analysis options, and everything derived from them (the graph, the revisits, the forking tokens, the markers,
the alignment, the hidden-state summary), each computed once, on first use.

A family reads only what it needs, so the context of a further layer (a layer column), which computes only the
families with per-layer keys, never runs the alignment.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from reasongraph.analysis.alignment.align import align
from reasongraph.analysis.alignment.alignment import Alignment
from reasongraph.graph.reasoning_graph import ReasoningGraph
from reasongraph.graph.walk import Revisit
from reasongraph.trace.markers import Marker, find_markers, markers_per_step
from reasongraph.trace.token_signals import forking_tokens
from reasongraph.trace.trace import Trace

__all__ = ["TraceContext"]


class TraceContext:
    """One trace at one layer, its step labels and the options of
    :func:`~reasongraph.analysis.one_trace.analyze_trace`, with cached derived values.

    Parameters
    ----------
    trace : the trace.
    labels : (n_steps,) cluster id per step at ``layer`` (negative: a dropped step).
    layer : the captured layer whose step vectors were labeled.
    options : analyze_trace's options by name (rho, forking_threshold, rule, onset_tokens, lookback, n_shifts,
        seed, markers, length_bound); a context reads only those of the values it is asked for.
    """

    def __init__(self, trace: Trace, labels: Sequence[int], layer: int, options: Mapping[str, Any]) -> None:
        self.trace = trace
        self.labels = labels
        self.layer = layer
        self.options = options
        self._hidden: dict[int, dict] = {}

    @cached_property
    def graph(self) -> ReasoningGraph:
        """The reasoning graph of the labeled steps."""
        return ReasoningGraph.from_trace(self.trace, self.labels, self.layer)

    @cached_property
    def graph_metrics(self) -> dict:
        """:meth:`ReasoningGraph.metrics` with the ``length_bound`` option (computed in one pass: its cycle and
        shape metrics share their matrices)."""
        return self.graph.metrics(length_bound=self.options["length_bound"])

    @cached_property
    def revisits(self) -> list[Revisit]:
        """The graph's revisit events, in step order."""
        return self.graph.revisits()

    @cached_property
    def forking(self) -> np.ndarray:
        """(n_tokens,) bool: the forking tokens (top ``rho`` by entropy, or above ``forking_threshold``)."""
        return forking_tokens(self.trace.entropy, rho=self.options["rho"],
                              forking_threshold=self.options["forking_threshold"])

    @cached_property
    def markers(self) -> list[Marker]:
        """The aha markers found in the trace's text (``markers``: the patterns, None for the default ones)."""
        return find_markers(self.trace.text, patterns=self.options["markers"])

    @cached_property
    def alignment(self) -> Alignment:
        """Revisits against entropy spikes and markers. Steps dropped as noise (negative labels) stay in the
        step-level tables as "no revisit" steps."""
        o = self.options
        return align(self.trace.entropy, self.trace.step_spans(),
                     np.array([r.step for r in self.revisits], dtype=np.int64), rule=o["rule"], rho=o["rho"],
                     forking_threshold=o["forking_threshold"], onset_tokens=o["onset_tokens"],
                     lookback=o["lookback"], n_shifts=o["n_shifts"], seed=o["seed"],
                     marker_steps=markers_per_step(self.markers, self.trace.steps))

    @property
    def hidden(self) -> dict:
        """The hidden-state summary of the context's layer (:meth:`Trace.hidden_summary`)."""
        return self.hidden_at(self.layer)

    def hidden_at(self, layer: int) -> dict:
        """The hidden-state summary of any captured ``layer``, computed once per context."""
        if layer not in self._hidden:
            self._hidden[layer] = self.trace.hidden_summary(layer)
        return self._hidden[layer]
