"""The analysis of one trace (:class:`Analysis`): its summary, saving and loading, its HTML view."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reasongraph.analysis.alignment.alignment import Alignment
from reasongraph.analysis.summary_text import summary_text
from reasongraph.core.checks import check_path_writable
from reasongraph.graph.reasoning_graph import ReasoningGraph
from reasongraph.trace.markers import Marker
from reasongraph.trace.trace import Trace


@dataclass(eq=False)
class Analysis:
    """The analysis of one trace.

    Attributes
    ----------
    trace : the :class:`~reasongraph.trace.trace.Trace` analyzed.
    labels : (n_steps,) cluster id of each step (negative: a step dropped as noise).
    graph : the :class:`~reasongraph.graph.reasoning_graph.ReasoningGraph` of the walk of labels.
    alignment : revisits vs entropy spikes (and aha markers),
        :class:`~reasongraph.analysis.alignment.alignment.Alignment`.
    markers : aha markers found in the text.
    forking : (n_tokens,) bool, the forking tokens (entropy spikes).
    erank_curve : (window start token, effective rank) along the trace
        (:data:`reasongraph.trace.hidden.rank_dynamics.PROFILE_WINDOW`).
    metrics : flat JSON-able dict: graph metrics, entropy summary, effective rank, ERV/ERA, alignment counts.
    events : JSON-able lists: revisits, spikes (token indices), markers, hidden_only and token_only steps.
    params : how the analysis was made (clustering, rho, window, seed, layer).
    """

    trace: Trace
    labels: np.ndarray
    graph: ReasoningGraph
    alignment: Alignment
    markers: list[Marker]
    forking: np.ndarray
    erank_curve: tuple[np.ndarray, np.ndarray]
    metrics: dict
    events: dict
    params: dict = field(default_factory=dict)

    def summary(self) -> str:
        """A short readable report: the walk, its revisits, how many token entropy missed, and the tables, every
        number with its unit and every n/a with its reason (:func:`~reasongraph.analysis.summary_text.summary_text`).
        """
        return summary_text(self)

    def as_dict(self) -> dict:
        """JSON-able: metrics, events, labels and parameters (not the arrays of the trace)."""
        return {"model": self.trace.model_name, "params": self.params, "labels": self.labels.tolist(),
                "metrics": self.metrics, "events": self.events}

    def save(self, directory: str | Path) -> Path:
        """Write ``trace.npz`` and ``analysis.json`` into ``directory``;
        :func:`~reasongraph.analysis.one_trace.load_analysis` reads them back."""
        check_path_writable("directory", directory, folder=True)
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.trace.save(directory / "trace.npz")
        (directory / "analysis.json").write_text(json.dumps(self.as_dict(), indent=1, allow_nan=True))
        return directory

    def to_html(self, path: str | Path) -> Path:
        """Write the interactive, self-contained HTML view of this analysis."""
        from reasongraph.html.write import write_trace_html

        return write_trace_html(self, path)

    def _repr_html_(self) -> str:
        from reasongraph.html.write import trace_html

        return trace_html(self, full_page=False)

    def __repr__(self) -> str:
        m = self.metrics
        return (f"Analysis({m['n_steps']} steps, {m['n_nodes']} nodes, revisits={m['n_revisits']}, "
                f"hidden_only={m['align_n_hidden_only']})")

