"""The analysis of one trace (:class:`Analysis`): its summary, saving and loading, its HTML view."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reasongraph.analysis.alignment.alignment import Alignment
from reasongraph.core.checks import check_path_writable
from reasongraph.core.display import fmt, fmt_p
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
        """A short readable report: the walk, its revisits, how many token entropy missed, and the tables."""
        m, al = self.metrics, self.alignment
        t = al.table
        rule = ("onset spike: the entropy that chose how the step begins is in the trace's top "
                f"{100 * self.params['rho']:.0f}%" if al.rule == "onset" else "span: a forking token anywhere in the step")
        lines = [
            f"{self.trace.model_name} | {m['n_tokens']} tokens, {m['n_steps']} steps ({self.trace.segment}), "
            f"{m['n_nodes']} nodes, {m['n_edges']} edges",
            f"cycles: loop_exists={m['loop_exists']} loop_count={m['loop_count']} max_revisits={m['max_revisits']} "
            f"revisits={m['n_revisits']} ({fmt(m['revisits_per_step'])} per step) cycles<={self.params['length_bound']}"
            f"={m['cycles_upto_k']}",
            f"topology: diameter={fmt(m['diameter'])} ({fmt(m['diameter_hops'])} hops) "
            f"clustering={fmt(m['avg_clustering'])} small-world={fmt(m['small_world'])}",
            f"token entropy: mean={fmt(m['mean_entropy'])} nats, p80={fmt(m['entropy_p80'])}, "
            f"{fmt(100 * m['low_entropy_share'], 2)}% below 0.01; onset entropy mean={fmt(m['onset_entropy_mean'])}",
            f"hidden states: effective rank={fmt(m['effective_rank'])} (W=128: {fmt(m['erank_window'])}) "
            f"ERV={fmt(m['erv'])} ERA={fmt(m['era'])} level coupling={fmt(m['level_coupling'])}",
            f"revisit x spike (steps; {rule}):",
            "                 spike  no spike",
            f"  revisit      {t[0, 0]:7d}  {t[0, 1]:8d}",
            f"  no revisit   {t[1, 0]:7d}  {t[1, 1]:8d}",
            f"odds ratio={fmt(al.odds_ratio)}{' (Haldane-corrected: a cell is 0)' if al.odds_ratio_corrected else ''}"
            f" Fisher p={fmt_p(al.fisher_p)} (one-sided, OR > 1: {fmt_p(al.fisher_p_greater)}); steps beginning at a "
            f"fork: {fmt(al.onset_fork_rate)} (chance {fmt(al.onset_fork_null)})",
            f"hidden-only revisits (exploration token entropy misses): {m['align_n_hidden_only']} of "
            f"{m['n_revisits']} ({fmt(al.hidden_only_share)}); token-only spike steps: {m['align_n_token_only']}; "
            f"aha markers: {m['n_markers']} (marker x revisit OR={fmt(m['marker_revisit_odds_ratio'])})",
        ]
        for event in self.events["hidden_only"][:5]:
            lines.append(f"  step {event['step']:>3} -> node {event['node']} "
                         f"(back after {event['steps_since_last_visit']} steps): {_clip(event['text'])}")
        return "\n".join(lines)

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


def _clip(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"
