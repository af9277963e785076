"""The view payload of one trace: a JSON-able dict with everything the interactive page draws.

:func:`trace_payload` is the only function that reads an :class:`~reasongraph.analysis.result.Analysis`; everything
else takes plain values (:func:`build_trace_payload`), so the page can be built from arrays, tested without a
model, and re-rendered from a saved payload. This module only assembles: the text strip is
:mod:`reasongraph.html.text_strip`, the curves :mod:`reasongraph.html.trace_curves`, and every domain fact (cycle edges,
markers per step, step spikes, step entropy) comes from the domain modules.

Payload keys (a trace): ``text``, ``prompt``, ``model``, ``title``; per token, compact flat lists:
``token_spans`` (``[gap, length]`` per token, start = previous end + gap), ``entropy`` (nats, 4 decimals, null
where undefined), ``fork`` (indices of forking tokens); ``segments``, the text strip as runs
``[length, step, entropy class, flags]``; ``steps`` (index ``i``, token span ``tok``, character span ``chr``,
``node``, ``revisit``, ``since``, ``prev``, ``hidden_only``, ``token_only``, ``spike``, ``marker``, mean
``entropy``); ``nodes`` (``id``, ``visits``, ``runs``, ``mean_entropy``, entropy class ``bin``, ``steps``, layout
``x``, ``y`` in [0, 1]); ``edges`` (``source``, ``target``, ``count``, ``weight``, ``cycle``: on a revisit's way
back, ``returns``: revisits it closes); ``markers``; ``metrics`` and ``metric_groups``; ``tables`` (the 2x2
alignment tables); ``curves`` (``entropy``: moving average, ``erank``: windowed effective rank). Character
positions are UTF-16 code units (see :mod:`reasongraph.html.text_strip`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from reasongraph.analysis.alignment.spike_rules import step_has_spike
from reasongraph.core.errors import InputError
from reasongraph.core.json_values import finite_or_none
from reasongraph.graph.walk import revisit_cycle_edges, step_mean_entropy
from reasongraph.html.graph_layout import graph_layout
from reasongraph.html.text_strip import ENTROPY_BINS, Utf16, entropy_bins, gap_length, segments
from reasongraph.html.trace_curves import erank_curve as erank_points, smooth_entropy
from reasongraph.html.trace_view_inputs import (bool_mask, int_rows, marker_tuple, node_key, revisit_tuple,
                                                step_table)
from reasongraph.html.trace_view_tables import alignment_tables, metric_groups
from reasongraph.trace.markers import marker_steps

__all__ = ["PAYLOAD_VERSION", "build_trace_payload", "trace_payload"]


PAYLOAD_VERSION = 1


# ---------------------------------------------------------------------------------------------- entry point
def trace_payload(analysis: Any, *, title: str | None = None) -> dict:
    """The view payload of an :class:`~reasongraph.analysis.result.Analysis` (the one place that reads its fields).

    Parameters
    ----------
    analysis : an Analysis (``trace``, ``graph``, ``alignment``, ``markers``, ``forking``, ``erank_curve``,
        ``metrics``).
    title : page title; defaults to the model name and step count.

    Returns
    -------
    dict, JSON-able after :func:`reasongraph.html.document.to_json` (NaN becomes null there).
    """
    tr, g, al = analysis.trace, analysis.graph, analysis.alignment
    return build_trace_payload(
        text=tr.text,
        prompt=tr.prompt,
        model_name=tr.model_name,
        offsets=tr.offsets,
        entropy=tr.entropy,
        steps=tr.steps,
        walk=g.walk,
        graph=g.to_networkx(),
        revisits=g.revisits(),
        forking=analysis.forking,
        hidden_only=al.hidden_only,
        token_only=al.token_only,
        step_spikes=al.step_spikes,
        spike_threshold=al.threshold,
        markers=analysis.markers,
        metrics=analysis.metrics,
        tables=alignment_tables(al),
        erank_curve=analysis.erank_curve,
        title=title,
    )


def build_trace_payload(
    *,
    text: str,
    offsets: Any,
    entropy: Any,
    steps: Sequence[Any],
    walk: Any,
    graph: nx.DiGraph,
    revisits: Iterable[Any] = (),
    forking: Any = None,
    hidden_only: Iterable[int] = (),
    token_only: Iterable[int] = (),
    step_spikes: Any = None,
    spike_threshold: float | None = None,
    markers: Iterable[Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    tables: Sequence[Mapping[str, Any]] = (),
    erank_curve: tuple[Any, Any] | None = None,
    prompt: str | None = None,
    model_name: str = "",
    title: str | None = None,
    layout_seed: int = 0,
) -> dict:
    """Build the view payload of one trace from plain values.

    Parameters
    ----------
    text : the trace text.
    offsets : (n_tokens, 2) character spans [start, end) of the tokens in ``text`` (Python indices).
    entropy : (n_tokens,) token entropy in nats; NaN where undefined.
    steps : one item per step with ``start_token, end_token, start_char, end_char`` (a
        :class:`~reasongraph.trace.steps.Step`, a mapping or a 4-sequence).
    walk : (n_steps,) cluster id per step; negative = step dropped from the graph.
    graph : the reasoning graph (``ReasoningGraph.to_networkx()``): node attributes ``visits``, ``steps``,
        ``runs``, ``mean_entropy``; edge attributes ``count``, ``weight``.
    revisits : revisit events (``Revisit`` or dicts with ``step``, ``node``, ``steps_since_last_visit``).
    forking : (n_tokens,) bool mask of forking tokens, or None for none.
    hidden_only, token_only : step indices of revisits without a spike / spikes outside revisits.
    step_spikes : (n_steps,) bool, steps holding a spike (the alignment's rule); None: a forking token anywhere
        in the step (:func:`reasongraph.analysis.alignment.spike_rules.step_has_spike`).
    spike_threshold : the entropy cut of the spikes, shown in the legend.
    markers : aha markers found (``Marker`` or dicts with ``start_char``, ``end_char``, ``text``); None: none.
    metrics : flat dict of metrics (shown grouped, and all of them in a table).
    tables : 2x2 tables to show (see :func:`alignment_tables`).
    erank_curve : (starts, values) of the sliding-window effective rank, or None.
    prompt, model_name, title : shown in the header.
    layout_seed : seed of the graph layout.

    Returns
    -------
    dict (see the module docstring for the units of character positions).
    """
    text = str(text)
    n_chars = len(text)
    offsets = int_rows(offsets, "offsets")
    n_tokens = offsets.shape[0]
    if offsets.size and (offsets.min() < 0 or offsets.max() > n_chars or np.any(offsets[:, 1] < offsets[:, 0])):
        raise InputError(f"offsets must be spans [start, end) with 0 <= start <= end <= len(text) = {n_chars}")
    entropy = np.asarray(entropy, dtype=np.float64).reshape(-1)
    if entropy.shape != (n_tokens,):
        raise InputError(f"entropy must have one value per token ({n_tokens}), got shape {entropy.shape}")
    fork = bool_mask(forking, n_tokens, "forking")
    spans = step_table(steps)
    n_steps = spans.shape[0]
    if spans.size and (spans[:, 1].max() > n_tokens or spans[:, 3].max() > n_chars):
        raise InputError("steps: a step's token or character span lies outside the trace")
    walk = np.asarray(walk).reshape(-1)
    if walk.shape != (n_steps,):
        raise InputError(f"walk must have one cluster id per step ({n_steps}), got shape {walk.shape}")
    spikes = (bool_mask(step_spikes, n_steps, "step_spikes") if step_spikes is not None
              else step_has_spike(fork, spans[:, :2]))
    revisit_events = list(revisits)
    revisits = [revisit_tuple(r) for r in revisit_events]
    marker_list = [marker_tuple(m) for m in markers or ()]
    marker_step = marker_steps([{"start_char": a} for a, _, _ in marker_list], spans[:, 2:]).tolist()
    step_markers = np.zeros(n_steps, dtype=bool)
    step_markers[[s for s in marker_step if s >= 0]] = True

    tok_bin = entropy_bins(entropy)
    u16 = Utf16(text)
    node_ids = {node: node_key(node) for node in graph.nodes}
    payload = {
        "format": "reasongraph.view",
        "version": PAYLOAD_VERSION,
        "kind": "trace",
        "title": title if title is not None else _default_title(model_name, n_steps, n_tokens),
        "model": str(model_name or ""),
        "prompt": None if prompt is None else str(prompt),
        "text": text,
        "n_tokens": n_tokens,
        "token_spans": gap_length(u16.map(offsets)),
        "entropy": [None if not math.isfinite(h) else round(h, 4) for h in entropy.tolist()],
        "fork": np.flatnonzero(fork).tolist(),
        "fork_threshold": finite_or_none(spike_threshold),
        "bins": list(ENTROPY_BINS),
        "segments": segments(n_chars, offsets, tok_bin, fork, spans[:, 2:], marker_list, u16),
        "steps": _steps(spans, walk, node_ids, revisits, hidden_only, token_only, spikes, step_markers,
                        step_mean_entropy(entropy, spans[:, :2]), u16),
        "nodes": _nodes(graph, node_ids, layout_seed),
        "edges": _edges(graph, node_ids, revisit_cycle_edges(walk, revisit_events)),
        "markers": [{"start": int(u16.map(a)), "end": int(u16.map(b)), "text": t, "step": s if s >= 0 else None}
                    for (a, b, t), s in zip(marker_list, marker_step)],
        "metrics": dict(metrics or {}),
        "metric_groups": metric_groups(metrics or {}),
        "tables": [dict(t) for t in tables],
        "curves": {"entropy": smooth_entropy(entropy), "erank": erank_points(erank_curve, n_tokens)},
    }
    return payload


# ---------------------------------------------------------------------------------------------- pieces
def _steps(spans: np.ndarray, walk: np.ndarray, node_ids: dict, revisits: Iterable[Any], hidden_only: Iterable[int],
           token_only: Iterable[int], spikes: np.ndarray, step_markers: np.ndarray, step_entropy: np.ndarray,
           u16: Utf16) -> list[dict]:
    since = {}
    for r in revisits:
        step, _, gap = revisit_tuple(r)
        since[step] = gap
    hidden, token = {int(i) for i in hidden_only}, {int(i) for i in token_only}
    chars = u16.map(spans[:, 2:]) if spans.size else spans[:, 2:]
    out = []
    for i, (t0, t1, _, _) in enumerate(spans.tolist()):
        label = walk[i].item()
        gap = since.get(i)
        out.append({
            "i": i,
            "tok": [t0, t1],
            "chr": [int(chars[i, 0]), int(chars[i, 1])],
            "node": node_ids.get(label) if label >= 0 else None,
            "entropy": round(float(step_entropy[i]), 4) if math.isfinite(step_entropy[i]) else None,
            "revisit": gap is not None,
            "since": gap,
            "prev": None if gap is None else i - gap,
            "hidden_only": i in hidden,
            "token_only": i in token,
            "spike": bool(spikes[i]),
            "marker": bool(step_markers[i]),
        })
    return out


def _nodes(graph: nx.DiGraph, node_ids: dict, seed: int) -> list[dict]:
    pos = graph_layout(graph, seed=seed)
    out = []
    for node, data in graph.nodes(data=True):
        steps = [int(s) for s in data.get("steps", ())]
        visits = int(data.get("visits", len(steps)))
        h = finite_or_none(data.get("mean_entropy"))
        x, y = pos[node]
        out.append({
            "id": node_ids[node],
            "visits": visits,
            "runs": int(data.get("runs", 1)),
            "mean_entropy": None if h is None else round(h, 4),
            "bin": -1 if h is None else int(entropy_bins([h])[0]),
            "steps": steps,
            "x": x,
            "y": y,
        })
    return out


def _edges(graph: nx.DiGraph, node_ids: dict, cycle_edges: Mapping[tuple, int]) -> list[dict]:
    out = []
    for u, v, data in graph.edges(data=True):
        w = finite_or_none(data.get("weight"))
        out.append({
            "source": node_ids[u],
            "target": node_ids[v],
            "count": int(data.get("count", 1)),
            "weight": None if w is None else round(w, 4),
            "cycle": (u, v) in cycle_edges,
            "returns": cycle_edges.get((u, v), 0),
        })
    return out


def _default_title(model_name: str, n_steps: int, n_tokens: int) -> str:
    who = f"{model_name} · " if model_name else ""
    return f"reasongraph · {who}{n_steps} steps, {n_tokens} tokens"
