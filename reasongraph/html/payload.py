"""The view payload of one trace: a JSON-able dict with everything the interactive page draws.

:func:`trace_payload` is the only function that reads an :class:`~reasongraph.analysis.Analysis`; everything
else takes plain values (:func:`build_trace_payload`), so the page can be built from arrays, tested without a
model, and re-rendered from a saved payload. This module only assembles: the text strip is
:mod:`reasongraph.html.strip`, the curves :mod:`reasongraph.html.curves`, and every domain fact (cycle edges,
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
positions are UTF-16 code units (see :mod:`reasongraph.html.strip`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from reasongraph import catalogue
from reasongraph.onset_relative import NEAR_SATURATED
from reasongraph.align import step_has_spike
from reasongraph.display import fmt, fmt_p
from reasongraph.errors import InputError
from reasongraph.graph import revisit_cycle_edges, step_mean_entropy
from reasongraph.html.coerce import finite_or_none, scalar
from reasongraph.html.curves import erank_curve as erank_points, smooth_entropy
from reasongraph.html.layout import graph_layout
from reasongraph.html.strip import ENTROPY_BINS, Utf16, entropy_bins, gap_length, segments
from reasongraph.markers import marker_steps

__all__ = ["PAYLOAD_VERSION", "alignment_tables", "build_trace_payload", "metric_groups", "trace_payload"]

PAYLOAD_VERSION = 1


# ---------------------------------------------------------------------------------------------- entry point
def trace_payload(analysis: Any, *, title: str | None = None) -> dict:
    """The view payload of an :class:`~reasongraph.analysis.Analysis` (the one place that reads its fields).

    Parameters
    ----------
    analysis : an Analysis (``trace``, ``graph``, ``alignment``, ``markers``, ``forking``, ``erank_curve``,
        ``metrics``).
    title : page title; defaults to the model name and step count.

    Returns
    -------
    dict, JSON-able after :func:`reasongraph.html.page.to_json` (NaN becomes null there).
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
    markers: Iterable[Any] = (),
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
        :class:`~reasongraph.segment.Step`, a mapping or a 4-sequence).
    walk : (n_steps,) cluster id per step; negative = step dropped from the graph.
    graph : the reasoning graph (``ReasoningGraph.to_networkx()``): node attributes ``visits``, ``steps``,
        ``runs``, ``mean_entropy``; edge attributes ``count``, ``weight``.
    revisits : revisit events (``Revisit`` or dicts with ``step``, ``node``, ``steps_since_last_visit``).
    forking : (n_tokens,) bool mask of forking tokens, or None for none.
    hidden_only, token_only : step indices of revisits without a spike / spikes outside revisits.
    step_spikes : (n_steps,) bool, steps holding a spike (the alignment's rule); None: a forking token anywhere
        in the step (:func:`reasongraph.align.step_has_spike`).
    spike_threshold : the entropy cut of the spikes, shown in the legend.
    markers : aha markers (``Marker`` or dicts with ``start_char``, ``end_char``, ``text``).
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
    offsets = _int_rows(offsets, "offsets")
    n_tokens = offsets.shape[0]
    if offsets.size and (offsets.min() < 0 or offsets.max() > n_chars or np.any(offsets[:, 1] < offsets[:, 0])):
        raise InputError(f"offsets must be spans [start, end) with 0 <= start <= end <= len(text) = {n_chars}")
    entropy = np.asarray(entropy, dtype=np.float64).reshape(-1)
    if entropy.shape != (n_tokens,):
        raise InputError(f"entropy must have one value per token ({n_tokens}), got shape {entropy.shape}")
    fork = _bool_mask(forking, n_tokens, "forking")
    spans = _step_table(steps)
    n_steps = spans.shape[0]
    if spans.size and (spans[:, 1].max() > n_tokens or spans[:, 3].max() > n_chars):
        raise InputError("steps: a step's token or character span lies outside the trace")
    walk = np.asarray(walk).reshape(-1)
    if walk.shape != (n_steps,):
        raise InputError(f"walk must have one cluster id per step ({n_steps}), got shape {walk.shape}")
    spikes = (_bool_mask(step_spikes, n_steps, "step_spikes") if step_spikes is not None
              else step_has_spike(fork, spans[:, :2]))
    revisit_events = list(revisits)
    revisits = [_revisit_tuple(r) for r in revisit_events]
    marker_list = [_marker_tuple(m) for m in markers]
    marker_step = marker_steps([{"start_char": a} for a, _, _ in marker_list], spans[:, 2:]).tolist()
    step_markers = np.zeros(n_steps, dtype=bool)
    step_markers[[s for s in marker_step if s >= 0]] = True

    tok_bin = entropy_bins(entropy)
    u16 = Utf16(text)
    node_ids = {node: _node_key(node) for node in graph.nodes}
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


# ---------------------------------------------------------------------------------------------- public helpers
def metric_groups(metrics: Mapping[str, Any]) -> list[dict]:
    """The metrics panel: the catalogue's panels (:data:`reasongraph.catalogue.PANELS`) filled from ``metrics``,
    metrics without a value left out."""
    groups = []
    for key, title in catalogue.PANELS:
        items = [{"key": m.key, "label": m.label, "help": m.help, "value": scalar(metrics[m.key])}
                 for m in catalogue.panel(key) if m.key in metrics]
        if items:
            groups.append({"title": title, "items": items})
    return groups


def alignment_tables(alignment: Any) -> list[dict]:
    """The 2x2 tables of an :class:`~reasongraph.align.Alignment` as payload tables, with their statistics.

    Each table: ``title``, ``rows`` and ``cols`` (labels), ``cells`` (2x2 counts of steps), ``marks`` (cell ->
    short name, e.g. the hidden-only cell) and ``note`` (one line: odds ratio and Fisher's exact test).
    """
    spike = "onset spike" if alignment.rule == "onset" else "spike"
    rule = ("a step has an onset spike when the entropy that chose how it begins is a forking one"
            if alignment.rule == "onset" else "span rule: a forking token anywhere in the step; circular-shift "
            f"permutation p = {fmt_p(alignment.p_value)}")
    tables = [{
        "title": f"Revisits vs {spike}s (steps)",
        "rows": ["revisit", "no revisit"],
        "cols": [spike, f"no {spike}"],
        "cells": _cells(alignment.table),
        "marks": {"0,1": "hidden-only", "1,0": "token-only"},
        "note": f"{_statistics(alignment.revisit_spike)}; {rule}",
    }]
    rate = alignment.spike_rate
    if rate == rate and rate > NEAR_SATURATED:  # rate == rate: not NaN
        tables[0]["flag"] = (f"near-saturated: {fmt(rate)} of the steps spike (above {NEAR_SATURATED}), so hidden-only "
                             "events are few by construction; read the onset-relative table beside it")
    relative = alignment.relative.revisit_spike if alignment.relative is not None else None
    if relative is not None:
        tables.append({"title": "Revisits vs onset-relative spikes (steps)", "rows": ["revisit", "no revisit"],
                       "cols": ["top onset", "other onset"], "cells": _cells(relative.table),
                       "marks": {"0,1": "hidden-only"},
                       "note": f"{_statistics(relative)}; the ceil(rho n) steps with the highest onset entropy "
                               "spike, so this rule cannot saturate: do revisits begin at the trace's more "
                               "uncertain decisions?"})
    if alignment.marker_revisit is not None:
        tables.append({"title": "Aha markers vs revisits (steps)", "rows": ["revisit", "no revisit"],
                       "cols": ["marker", "no marker"], "cells": _cells(alignment.marker_revisit.table),
                       "marks": {}, "note": f"{_statistics(alignment.marker_revisit)}; \"cycles are aha moments\" "
                                            "predicts an odds ratio above 1"})
    if alignment.marker_spike is not None:
        tables.append({"title": f"Aha markers vs {spike}s (steps)", "rows": ["marker", "no marker"],
                       "cols": [spike, f"no {spike}"], "cells": _cells(alignment.marker_spike.table),
                       "marks": {}, "note": f"{_statistics(alignment.marker_spike)}; does the model's own wording "
                                            "agree with its token entropy?"})
    return tables


def _statistics(t: Any) -> str:
    corrected = " (Haldane-corrected: a cell is 0)" if t.odds_ratio_corrected else ""
    return (f"odds ratio {fmt(t.odds_ratio)}{corrected}, Fisher p = {fmt_p(t.fisher_p)} "
            f"(one-sided, OR > 1: {fmt_p(t.fisher_p_greater)})")


# ---------------------------------------------------------------------------------------------- pieces
def _steps(spans: np.ndarray, walk: np.ndarray, node_ids: dict, revisits: Iterable[Any], hidden_only: Iterable[int],
           token_only: Iterable[int], spikes: np.ndarray, step_markers: np.ndarray, step_entropy: np.ndarray,
           u16: Utf16) -> list[dict]:
    since = {}
    for r in revisits:
        step, _, gap = _revisit_tuple(r)
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


# ---------------------------------------------------------------------------------------------- coercion
def _int_rows(arr: Any, name: str) -> np.ndarray:
    a = np.asarray(arr)
    if a.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if a.ndim != 2 or a.shape[1] != 2:
        raise InputError(f"{name} must be an (n, 2) array of spans, got shape {a.shape}")
    return a.astype(np.int64)


def _bool_mask(mask: Any, n: int, name: str) -> np.ndarray:
    if mask is None:
        return np.zeros(n, dtype=bool)
    m = np.asarray(mask).reshape(-1)
    if m.shape != (n,):
        raise InputError(f"{name} must be a mask of length {n}, got shape {m.shape}")
    return m.astype(bool)


def _step_table(steps: Sequence[Any]) -> np.ndarray:
    """(n_steps, 4) int: start_token, end_token, start_char, end_char."""
    rows = []
    for s in steps:
        if isinstance(s, Mapping):
            rows.append((s["start_token"], s["end_token"], s["start_char"], s["end_char"]))
        elif hasattr(s, "start_token"):
            rows.append((s.start_token, s.end_token, s.start_char, s.end_char))
        else:
            rows.append(tuple(s)[:4])
    table = np.array(rows, dtype=np.int64).reshape(-1, 4)
    if table.size and (table.min() < 0 or np.any(table[:, 1] < table[:, 0]) or np.any(table[:, 3] < table[:, 2])):
        raise InputError("steps must have spans with 0 <= start <= end")
    return table


def _revisit_tuple(r: Any) -> tuple[int, Any, int]:
    """(step, node, steps_since_last_visit) of a Revisit, a dict, or such a tuple."""
    if isinstance(r, tuple):
        return int(r[0]), r[1], int(r[2])
    if isinstance(r, Mapping):
        return int(r["step"]), r["node"], int(r["steps_since_last_visit"])
    return int(r.step), r.node, int(r.steps_since_last_visit)


def _marker_tuple(m: Any) -> tuple[int, int, str]:
    if isinstance(m, Mapping):
        return int(m["start_char"]), int(m["end_char"]), str(m["text"])
    return int(m.start_char), int(m.end_char), str(m.text)


def _node_key(node: Any) -> Any:
    """Node ids as JSON values: numpy integers become int, anything not a plain scalar becomes str."""
    if isinstance(node, (bool, np.bool_)):
        return str(node)
    if isinstance(node, (int, np.integer)):
        return int(node)
    return str(node)


def _cells(table: Any) -> list[list[int]]:
    t = np.asarray(table, dtype=np.int64)
    if t.shape != (2, 2):
        raise InputError(f"an alignment table must be 2x2, got shape {t.shape}")
    return t.tolist()


def _default_title(model_name: str, n_steps: int, n_tokens: int) -> str:
    who = f"{model_name} · " if model_name else ""
    return f"reasongraph · {who}{n_steps} steps, {n_tokens} tokens"
