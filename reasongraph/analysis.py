"""One call from a trace to everything reasongraph knows about it: :func:`analyze` and :class:`Analysis`.

The stages are plain values passed one way: Trace -> step labels (clustering) -> ReasoningGraph -> signals
(token entropy, forking tokens, aha markers, effective rank) -> alignment of revisits with entropy spikes.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from reasongraph.align import Alignment, align
from reasongraph.erank import effective_rank, effective_rank_by_layer, erank_dynamics, erank_profile
from reasongraph.graph import ReasoningGraph
from reasongraph.markers import Marker, find_markers, markers_per_step
from reasongraph.signals import entropy_summary, forking_tokens
from reasongraph.trace import Trace

ERANK_WINDOW = 64  # tokens per window of the effective-rank curve along a trace


@dataclass(eq=False)
class Analysis:
    """The analysis of one trace.

    Attributes
    ----------
    trace : the :class:`~reasongraph.trace.Trace` analyzed.
    labels : (n_steps,) cluster id of each step (negative: a step dropped as noise).
    graph : the :class:`~reasongraph.graph.ReasoningGraph` of the walk of labels.
    alignment : revisits vs entropy spikes (and aha markers), :class:`~reasongraph.align.Alignment`.
    markers : aha markers found in the text.
    forking : (n_tokens,) bool, the forking tokens (entropy spikes).
    erank_curve : (window start token, effective rank) along the trace, windows of 64 tokens.
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
        m, t = self.metrics, self.alignment.table
        lines = [
            f"{self.trace.model_name} | {m['n_tokens']} tokens, {m['n_steps']} steps ({self.trace.segment}), "
            f"{m['n_nodes']} nodes, {m['n_edges']} edges",
            f"cycles: loop_exists={m['loop_exists']} loop_count={m['loop_count']} max_revisits={m['max_revisits']} "
            f"revisits={m['n_revisits']} cycles<=5={m['cycles_upto_k']}",
            f"topology: diameter={_fmt(m['diameter'])} ({_fmt(m['diameter_hops'])} hops) "
            f"clustering={_fmt(m['avg_clustering'])} small-world={_fmt(m['small_world'])}",
            f"token entropy: mean={_fmt(m['mean_entropy'])} nats, p80={_fmt(m['entropy_p80'])}, "
            f"{100 * m['low_entropy_share']:.0f}% below 0.01; forking tokens {m['n_forking']}",
            f"hidden states: effective rank={_fmt(m['effective_rank'])} ERV={_fmt(m['erv'])} ERA={_fmt(m['era'])}",
            "revisit x spike (steps):   spike  no spike",
            f"  revisit                  {t[0, 0]:5d}  {t[0, 1]:8d}",
            f"  no revisit               {t[1, 0]:5d}  {t[1, 1]:8d}",
            f"enrichment={_fmt(m['align_enrichment'])} permutation p={_fmt(m['align_p_value'])}",
            f"hidden-only revisits (exploration token entropy misses): {m['align_n_hidden_only']}; "
            f"token-only spike steps: {m['align_n_token_only']}; aha markers: {m['n_markers']}",
        ]
        for event in self.events["hidden_only"][:5]:
            lines.append(f"  step {event['step']:>3} -> node {event['node']} "
                         f"(back after {event['steps_since_last_visit']} steps): {_clip(event['text'])}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-able: metrics, events, labels and parameters (not the arrays of the trace)."""
        return {"model": self.trace.model_name, "params": self.params, "labels": self.labels.tolist(),
                "metrics": self.metrics, "events": self.events}

    def save(self, directory: str | Path) -> Path:
        """Write ``trace.npz`` and ``analysis.json`` into ``directory``; :func:`load_analysis` reads them back."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.trace.save(directory / "trace.npz")
        (directory / "analysis.json").write_text(json.dumps(self.to_dict(), indent=1, allow_nan=True))
        return directory

    def to_html(self, path: str | Path) -> Path:
        """Write the interactive, self-contained HTML view of this analysis."""
        from reasongraph.html import write_trace_html

        return write_trace_html(self, path)

    def _repr_html_(self) -> str:
        from reasongraph.html import trace_html

        return trace_html(self, full_page=False)

    def __repr__(self) -> str:
        m = self.metrics
        return (f"Analysis({m['n_steps']} steps, {m['n_nodes']} nodes, revisits={m['n_revisits']}, "
                f"hidden_only={m['align_n_hidden_only']})")


def analyze(text: str, prompt: str | None = None, model: Any = None, clusterer: Any = None,
            **options: Any) -> Analysis:
    """Extract a trace with ``model`` and analyze it (see :func:`analyze_trace`).

    ``options`` go to :func:`~reasongraph.extraction.extract` (layers, segment, temperature, prompt_format,
    truncate) or to :func:`analyze_trace` (k, rho, threshold, window, n_shifts, seed, markers, cycle_k).
    """
    from reasongraph.extraction import extract

    extract_keys = {"layers", "segment", "temperature", "prompt_format", "truncate"}
    trace = extract(text, prompt, model=model, **{k: v for k, v in options.items() if k in extract_keys})
    return analyze_trace(trace, clusterer, **{k: v for k, v in options.items() if k not in extract_keys})


def analyze_trace(trace: Trace, clusterer: Any = None, *, labels: Sequence[int] | None = None,
                  layer: int | None = None, k: int | None = None, rho: float = 0.2,
                  threshold: float | None = None, window: int = 0, n_shifts: int = 1000, seed: int = 0,
                  markers: Sequence[str] | None = None, cycle_k: int = 5) -> Analysis:
    """Analyze an extracted trace.

    Parameters
    ----------
    trace : from :func:`~reasongraph.extraction.extract`.
    clusterer : a fitted clusterer (dataset level, as the paper) whose ``label_trace`` names each step's node;
        None clusters this trace alone with KMeans and K from :func:`~reasongraph.cluster.k_for_steps`.
    labels : step labels computed elsewhere (overrides ``clusterer``).
    layer : which captured layer gives the step vectors (default: the first captured).
    k : K for the single-trace KMeans (default: the step-count rule).
    rho, threshold : forking tokens are the top ``rho`` share by entropy, or those above ``threshold``.
    window : a spike up to ``window`` tokens before a step counts for it.
    n_shifts, seed : circular shifts for the permutation p-value, and their seed.
    markers : regular expressions of aha markers (default :data:`~reasongraph.markers.AHA_MARKERS`).
    cycle_k : the longest cycle (in nodes) counted by ``cycles_upto_k``.
    """
    from threadpoolctl import threadpool_limits

    # One BLAS thread: the per-trace linear algebra is small, and OpenBLAS threads spinning against torch's idle
    # OpenMP pool after a forward pass made it up to 40x slower on a 2-core machine.
    with threadpool_limits(1, user_api="blas"):
        return _analyze_trace(trace, clusterer, labels, layer, k, rho, threshold, window, n_shifts, seed, markers,
                              cycle_k)


def _analyze_trace(trace: Trace, clusterer: Any, labels: Sequence[int] | None, layer: int | None, k: int | None,
                   rho: float, threshold: float | None, window: int, n_shifts: int, seed: int,
                   markers: Sequence[str] | None, cycle_k: int) -> Analysis:
    layer = trace._layer(layer)
    if labels is None:
        labels, cluster_params = _label_steps(trace, clusterer, layer, k, seed)
    else:
        cluster_params = {"cluster_method": "given"}
    labels = np.asarray(labels, dtype=np.int64)
    graph = ReasoningGraph.from_trace(trace, labels, layer)
    forking = forking_tokens(trace.entropy, rho=rho, threshold=threshold)
    found = find_markers(trace.text, markers)
    marker_steps = markers_per_step(found, trace.steps)
    revisits = graph.revisits()
    # Steps dropped as noise (negative labels) stay in the step-level tables as "no revisit" steps.
    alignment = align(trace.entropy, trace.step_spans(), np.array([r.step for r in revisits], dtype=np.int64),
                      spikes=forking, window=window, n_shifts=n_shifts, seed=seed, marker_steps=marker_steps)
    hidden = trace.hidden[layer]
    erank_curve = erank_profile(hidden, window=ERANK_WINDOW) if len(hidden) >= 2 else (np.zeros(0), np.zeros(0))
    metrics = _metrics(trace, graph, forking, found, alignment, hidden, cycle_k)
    metrics.update(cluster_params)
    params = {"layer": layer, "rho": rho, "threshold": threshold, "window": window, "n_shifts": n_shifts,
              "seed": seed, "cycle_k": cycle_k, "markers": None if markers is None else list(markers),
              **cluster_params}
    events = _events(trace, revisits, forking, found, alignment)
    return Analysis(trace, labels, graph, alignment, found, forking, erank_curve, metrics, events, params)


def _label_steps(trace: Trace, clusterer: Any, layer: int, k: int | None, seed: int) -> tuple[np.ndarray, dict]:
    """Step labels from a fitted clusterer, or from KMeans on this trace alone."""
    from reasongraph.cluster import StepClusterer, k_for_steps

    if clusterer is None:
        vectors = trace.step_vectors(layer)
        if len(vectors) < 2:
            return np.zeros(len(vectors), dtype=np.int64), {"cluster_method": "none", "cluster_k": len(vectors)}
        clusterer = StepClusterer(method="kmeans", k=k or k_for_steps(len(vectors)), random_state=seed)
        labels = clusterer.fit_predict(vectors)
    else:
        labels = clusterer.label_trace(trace)
    return labels, {f"cluster_{key}": value for key, value in clusterer.describe().items()}


def _metrics(trace: Trace, graph: ReasoningGraph, forking: np.ndarray, markers: list[Marker],
             alignment: Alignment, hidden: np.ndarray, cycle_k: int) -> dict:
    erv, era = erank_dynamics(hidden)
    metrics = {"n_tokens": trace.n_tokens, **graph.metrics(k=cycle_k), **entropy_summary(trace.entropy),
               "n_forking": int(forking.sum()), "forking_share": float(forking.mean()) if forking.size else math.nan,
               "n_markers": len(markers), "effective_rank": effective_rank(hidden) if len(hidden) > 1 else math.nan,
               "erv": erv, "era": era}
    if len(trace.hidden) > 1:
        by_layer = effective_rank_by_layer(trace.hidden)
        metrics.update({f"effective_rank_layer{k}": v for k, v in by_layer.items()})
    metrics.update(alignment.as_dict())
    return metrics


def _events(trace: Trace, revisits: list, forking: np.ndarray, markers: list[Marker],
            alignment: Alignment) -> dict:
    revisit_dicts = [{**r.as_dict(), "text": trace.steps[r.step].text} for r in revisits]
    hidden_only = set(alignment.hidden_only.tolist())
    return {
        "revisits": revisit_dicts,
        "hidden_only": [r for r in revisit_dicts if r["step"] in hidden_only],
        "token_only": [{"step": int(s), "text": trace.steps[s].text} for s in alignment.token_only],
        "spikes": np.flatnonzero(forking).tolist(),
        "markers": [{"start_char": m.start_char, "end_char": m.end_char, "text": m.text} for m in markers],
    }


def load_analysis(directory: str | Path) -> Analysis:
    """Rebuild an :class:`Analysis` written by :meth:`Analysis.save` (same labels and parameters; no model)."""
    directory = Path(directory)
    try:
        saved = json.loads((directory / "analysis.json").read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{directory}: not a saved reasongraph analysis ({e})") from None
    p = saved["params"]
    analysis = analyze_trace(Trace.load(directory / "trace.npz"), labels=saved["labels"], layer=p["layer"],
                             rho=p["rho"], threshold=p["threshold"], window=p["window"], n_shifts=p["n_shifts"],
                             seed=p["seed"], cycle_k=p["cycle_k"], markers=p.get("markers"))
    cluster_params = {k: v for k, v in p.items() if k.startswith("cluster_")}
    analysis.params.update(cluster_params)  # how the saved labels were made, not "given"
    analysis.metrics.update(cluster_params)
    return analysis


def _fmt(x: Any) -> str:
    return "nan" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


def _clip(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"
