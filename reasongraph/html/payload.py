"""The view payload of one trace: a JSON-able dict with everything the interactive page draws.

:func:`trace_payload` is the only function that reads an :class:`~reasongraph.analysis.Analysis`; everything
else takes plain values (:func:`build_trace_payload`), so the page can be built from arrays, tested without a
model, and re-rendered from a saved payload.

Character positions in the payload (token offsets, step and marker spans, strip segments) are UTF-16 code-unit
indices, the unit of JavaScript strings, so the page slices the text correctly even with characters outside the
Basic Multilingual Plane (math letters, emoji), where Python's code-point indices would drift.

Payload keys (a trace): ``text``, ``prompt``, ``model``, ``title``; per token, compact flat lists:
``token_spans`` (``[gap, length]`` per token, start = previous end + gap), ``entropy`` (nats, 4 decimals, null
where undefined), ``fork`` (indices of forking tokens); ``segments``, the text strip as runs
``[length, step, entropy class, flags]``; ``steps`` (index ``i``, token span ``tok``, character span ``chr``,
``node``, ``revisit``, ``since``, ``prev``, ``hidden_only``, ``token_only``, ``spike``, ``marker``, mean
``entropy``); ``nodes`` (``id``, ``visits``, ``runs``, ``mean_entropy``, entropy class ``bin``, ``steps``, layout
``x``, ``y`` in [0, 1]); ``edges`` (``source``, ``target``, ``count``, mean L2 ``weight``, ``cycle``: on a
revisit's way back, ``returns``: revisits it closes); ``markers``; ``metrics`` and ``metric_groups``; ``tables``
(the 2x2 alignment tables); ``curves`` (``entropy``: moving average, ``erank``: windowed effective rank).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from reasongraph.html.layout import graph_layout

__all__ = [
    "ENTROPY_BINS",
    "FLAG_AHA",
    "FLAG_FORK",
    "METRIC_GROUPS",
    "PAYLOAD_VERSION",
    "alignment_tables",
    "build_trace_payload",
    "entropy_bins",
    "metric_groups",
    "smooth_entropy",
    "trace_payload",
]

PAYLOAD_VERSION = 1

#: Upper edges (nats) of the entropy color classes shared by the text strip and the graph nodes; class 0 is
#: below 0.01 (near-deterministic tokens, over half of a typical chain of thought), the last is >= 4 nats.
#: Fixed edges, not quantiles, so colors mean the same thing in every trace and every page.
ENTROPY_BINS: tuple[float, ...] = (0.01, 0.1, 0.3, 0.6, 1.0, 1.5, 2.5, 4.0)

FLAG_FORK = 1  # the character belongs to a forking token (top-rho entropy)
FLAG_AHA = 2  # the character belongs to a lexical aha marker ("Wait", "Hmm", ...)

_MAX_CURVE_POINTS = 800

#: The metrics panel: (group title, ((label, help, metric keys tried in order), ...)).
METRIC_GROUPS: tuple[tuple[str, tuple[tuple[str, str, tuple[str, ...]], ...]], ...] = (
    ("Cycles in hidden-state space", (
        ("steps", "reasoning steps (the nodes of the walk)", ("n_steps",)),
        ("nodes", "distinct hidden-state clusters the trace visits", ("n_nodes",)),
        ("edges", "distinct transitions between clusters", ("n_edges",)),
        ("revisit events", "steps that re-enter an earlier cluster with another cluster in between",
         ("n_revisits",)),
        ("loop count", "returns to the first revisited cluster (the paper's released code)", ("loop_count",)),
        ("max revisits", "most returns to any one cluster (the paper's text)", ("max_revisits",)),
        ("short cycles", "simple directed cycles of at most k nodes in the graph", ("cycles_upto_k",)),
        ("share in cycles", "share of nodes inside a strongly connected component of size > 1",
         ("scc_share",)),
    )),
    ("Graph shape", (
        ("diameter", "longest shortest path, L2 distance between step vectors (compare ratios only)",
         ("diameter",)),
        ("diameter (hops)", "longest shortest path in edges", ("diameter_hops",)),
        ("clustering", "average local clustering (undirected, degree >= 2)", ("avg_clustering",)),
        ("path length (hops)", "mean shortest path in edges", ("path_length_hops",)),
        ("small-world", "(C / C_rand) / (L / L_rand), weighted L", ("small_world",)),
        ("small-world (hops)", "(C / C_rand) / (L / L_rand), hop L", ("small_world_hops",)),
        ("cyclomatic", "E - V + C: independent cycles", ("cyclomatic",)),
    )),
    ("Token entropy", (
        ("mean entropy", "mean next-token entropy over the trace, nats", ("mean_entropy",)),
        ("median entropy", "median next-token entropy, nats", ("median_entropy",)),
        ("share < 0.01", "share of near-deterministic tokens", ("low_entropy_share",)),
        ("80th percentile", "entropy above which a token is forking (top 20%)", ("entropy_p80",)),
    )),
    ("Hidden-state spread", (
        ("effective rank", "Roy-Vetterli effective rank of the trace's hidden states (centered)",
         ("effective_rank",)),
        ("ERV", "effective-rank velocity along the trace (VERL)", ("erv",)),
        ("ERA", "effective-rank acceleration along the trace (VERL)", ("era",)),
    )),
    ("Where the levels meet", (
        ("hidden-only", "revisits with no entropy spike in their step: exploration token entropy misses",
         ("n_hidden_only", "align_n_hidden_only")),
        ("token-only", "steps with a spike that are not revisits", ("n_token_only", "align_n_token_only")),
        ("enrichment", "P(spike | revisit) / P(spike | no revisit)", ("enrichment", "align_enrichment")),
        ("p-value", "permutation test: do revisits carry spikes more than chance?",
         ("p_value", "align_p_value")),
    )),
)


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
    step_spikes : (n_steps,) bool, steps holding a spike; None derives it from ``forking``.
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
        raise ValueError(f"offsets must be spans [start, end) with 0 <= start <= end <= len(text) = {n_chars}")
    entropy = np.asarray(entropy, dtype=np.float64).reshape(-1)
    if entropy.shape != (n_tokens,):
        raise ValueError(f"entropy must have one value per token ({n_tokens}), got shape {entropy.shape}")
    fork = _bool_mask(forking, n_tokens, "forking")
    spans = _step_table(steps)
    n_steps = spans.shape[0]
    if spans.size and (spans[:, 1].max() > n_tokens or spans[:, 3].max() > n_chars):
        raise ValueError("steps: a step's token or character span lies outside the trace")
    walk = np.asarray(walk).reshape(-1)
    if walk.shape != (n_steps,):
        raise ValueError(f"walk must have one cluster id per step ({n_steps}), got shape {walk.shape}")
    spikes = (_bool_mask(step_spikes, n_steps, "step_spikes") if step_spikes is not None
              else np.array([bool(fork[a:b].any()) for a, b in spans[:, :2]], dtype=bool))
    revisits = [_revisit_tuple(r) for r in revisits]
    marker_list = [_marker_tuple(m) for m in markers]
    marker_steps = _marker_steps(marker_list, spans[:, 2:])
    step_markers = np.zeros(n_steps, dtype=bool)
    step_markers[[s for s in marker_steps if s is not None]] = True

    tok_bin = entropy_bins(entropy)
    u16 = _Utf16(text)
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
        "token_spans": _gap_length(u16.map(offsets)),
        "entropy": [None if not math.isfinite(h) else round(h, 4) for h in entropy.tolist()],
        "fork": np.flatnonzero(fork).tolist(),
        "fork_threshold": _finite_or_none(spike_threshold),
        "bins": list(ENTROPY_BINS),
        "segments": _segments(n_chars, offsets, tok_bin, fork, spans[:, 2:], marker_list, u16),
        "steps": _steps(spans, walk, node_ids, revisits, hidden_only, token_only, spikes, step_markers,
                        entropy, u16),
        "nodes": _nodes(graph, node_ids, layout_seed),
        "edges": _edges(graph, node_ids, walk, revisits),
        "markers": [{"start": int(u16.map(a)), "end": int(u16.map(b)), "text": t, "step": s}
                    for (a, b, t), s in zip(marker_list, marker_steps)],
        "metrics": dict(metrics or {}),
        "metric_groups": metric_groups(metrics or {}),
        "tables": [dict(t) for t in tables],
        "curves": {"entropy": smooth_entropy(entropy), "erank": _erank_curve(erank_curve, n_tokens)},
    }
    return payload


# ---------------------------------------------------------------------------------------------- public helpers
def entropy_bins(values: Any) -> np.ndarray:
    """Entropy color class of each value (0 .. len(ENTROPY_BINS)); -1 where NaN."""
    values = np.asarray(values, dtype=np.float64)
    out = np.digitize(values, ENTROPY_BINS, right=False).astype(np.int64)
    out[~np.isfinite(values)] = -1
    return out


def smooth_entropy(entropy: Any, window: int | None = None, max_points: int = _MAX_CURVE_POINTS) -> dict:
    """Centered, NaN-aware moving average of token entropy, thinned to at most ``max_points`` points.

    ``window`` defaults to n_tokens / 100 clamped to [4, 64] tokens: wide enough to read a long trace's trend,
    narrow enough to keep a burst of forking tokens visible.

    Returns
    -------
    dict with ``x`` (token index of each point), ``y`` (mean entropy, None where the window holds no finite
    value) and ``window``.
    """
    h = np.asarray(entropy, dtype=np.float64).reshape(-1)
    n = h.size
    if n == 0:
        return {"x": [], "y": [], "window": 0}
    if window is None:
        window = int(min(64, max(4, n // 100)))
    window = max(1, min(int(window), n))
    ok = np.isfinite(h)
    csum = np.r_[0.0, np.cumsum(np.where(ok, h, 0.0))]
    ccnt = np.r_[0, np.cumsum(ok)]
    half = window // 2
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) - half + window, 0, n)
    cnt = ccnt[hi] - ccnt[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (csum[hi] - csum[lo]) / cnt
    idx = np.unique(np.linspace(0, n - 1, min(n, max_points)).round().astype(np.int64))
    return {"x": idx.tolist(), "y": [None if c == 0 else round(float(m), 4) for m, c in zip(mean[idx], cnt[idx])],
            "window": window}


def metric_groups(metrics: Mapping[str, Any]) -> list[dict]:
    """The metrics panel: :data:`METRIC_GROUPS` filled from ``metrics``, items without a value left out."""
    groups = []
    for title, items in METRIC_GROUPS:
        rows = []
        for label, help_text, keys in items:
            key = next((k for k in keys if k in metrics), None)
            if key is not None:
                rows.append({"key": key, "label": label, "help": help_text, "value": _scalar(metrics[key])})
        if rows:
            groups.append({"title": title, "items": rows})
    return groups


def alignment_tables(alignment: Any) -> list[dict]:
    """The 2x2 tables of an :class:`~reasongraph.align.Alignment` as payload tables.

    Each table: ``title``, ``rows`` and ``cols`` (labels), ``cells`` (2x2 counts of steps), ``marks`` (cell ->
    short name, e.g. the hidden-only cell) and ``note`` (one line: enrichment and p-value).
    """
    tables = [{
        "title": "Revisits vs entropy spikes (steps)",
        "rows": ["revisit", "no revisit"],
        "cols": ["spike", "no spike"],
        "cells": _cells(alignment.table),
        "marks": {"0,1": "hidden-only", "1,0": "token-only"},
        "note": (f"enrichment P(spike | revisit) / P(spike | no revisit) = {_fmt(alignment.enrichment)}; "
                 f"permutation p = {_fmt(alignment.p_value)} (circular shifts of the entropy series)"),
    }]
    if getattr(alignment, "marker_revisit_table", None) is not None:
        tables.append({"title": "Aha markers vs revisits (steps)", "rows": ["revisit", "no revisit"],
                       "cols": ["marker", "no marker"], "cells": _cells(alignment.marker_revisit_table),
                       "marks": {}, "note": "a marker is a lexical self-correction cue (Wait, Hmm, Actually, ...)"})
    if getattr(alignment, "marker_spike_table", None) is not None:
        tables.append({"title": "Aha markers vs entropy spikes (steps)", "rows": ["marker", "no marker"],
                       "cols": ["spike", "no spike"], "cells": _cells(alignment.marker_spike_table),
                       "marks": {}, "note": "does the model's own wording agree with its token entropy?"})
    return tables


# ---------------------------------------------------------------------------------------------- pieces
class _Utf16:
    """Maps Python (code point) string indices to JavaScript (UTF-16 code unit) indices."""

    def __init__(self, text: str) -> None:
        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        wide = cps > 0xFFFF
        self._cum = np.r_[0, np.cumsum(1 + wide)] if wide.any() else None

    def map(self, idx: Any) -> Any:
        if self._cum is None:
            return np.asarray(idx, dtype=np.int64)
        return self._cum[np.asarray(idx, dtype=np.int64)]


def _segments(n_chars: int, offsets: np.ndarray, tok_bin: np.ndarray, fork: np.ndarray, step_chars: np.ndarray,
              markers: list[tuple[int, int, str]], u16: _Utf16) -> list[int]:
    """The token strip as maximal runs of characters with the same step, entropy class and flags.

    The runs cover the text in order, so each is written as its length: a flat list
    ``[length, step, bin, flags] * n_runs`` (UTF-16 units; step -1 = text outside every step, bin -1 = no token
    or undefined entropy). Every step gets at least one run (a zero-length one for an empty step) so the page can
    give each step exactly one element.
    """
    step_of = np.full(n_chars, -1, dtype=np.int64)
    for i, (a, b) in enumerate(step_chars.tolist()):
        step_of[a:b] = i
    bin_of = np.full(n_chars, -1, dtype=np.int64)
    flags = np.zeros(n_chars, dtype=np.int64)
    for (a, b), k, f in zip(offsets.tolist(), tok_bin.tolist(), fork.tolist()):
        bin_of[a:b] = k
        if f:
            flags[a:b] |= FLAG_FORK
    for a, b, _ in markers:
        flags[a:b] |= FLAG_AHA
    # empty (or fully overlapped) steps get a zero-length run where they start, so the runs are cut there too
    present = set(np.unique(step_of).tolist())
    missing = [(int(a), int(a), i, -1, 0) for i, (a, _) in enumerate(step_chars.tolist()) if i not in present]
    key = (step_of + 1) * 64 + (bin_of + 1) * 4 + flags
    cuts = np.flatnonzero(key[1:] != key[:-1]) + 1
    cuts = np.union1d(cuts, [r[0] for r in missing if 0 < r[0] < n_chars]).astype(np.int64)
    starts = np.r_[0, cuts] if n_chars else np.empty(0, dtype=np.int64)
    ends = np.r_[cuts, n_chars] if n_chars else np.empty(0, dtype=np.int64)
    runs = [(int(a), int(b), int(step_of[a]), int(bin_of[a]), int(flags[a])) for a, b in zip(starts, ends)]
    if missing:
        runs = sorted(runs + missing, key=lambda r: (r[0], r[1] > r[0]))
    flat: list[int] = []
    for a, b, s, k, f in runs:
        flat += [int(u16.map(b)) - int(u16.map(a)), s, k, f]
    return flat


def _gap_length(spans: np.ndarray) -> list[int]:
    """Token spans as ``[gap, length] * n_tokens``, gap = start - previous end (0 for contiguous tokens): a third
    of the size of absolute offsets for a long trace."""
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    prev_end = np.r_[0, spans[:-1, 1]] if spans.size else np.zeros(0, dtype=np.int64)
    return np.column_stack([spans[:, 0] - prev_end, spans[:, 1] - spans[:, 0]]).reshape(-1).tolist()


def _steps(spans: np.ndarray, walk: np.ndarray, node_ids: dict, revisits: Iterable[Any], hidden_only: Iterable[int],
           token_only: Iterable[int], spikes: np.ndarray, step_markers: np.ndarray, entropy: np.ndarray,
           u16: _Utf16) -> list[dict]:
    since = {}
    for r in revisits:
        step, _, gap = _revisit_tuple(r)
        since[step] = gap
    hidden, token = {int(i) for i in hidden_only}, {int(i) for i in token_only}
    chars = u16.map(spans[:, 2:]) if spans.size else spans[:, 2:]
    out = []
    for i, (t0, t1, _, _) in enumerate(spans.tolist()):
        label = walk[i].item()
        vals = entropy[t0:t1]
        vals = vals[np.isfinite(vals)]
        gap = since.get(i)
        out.append({
            "i": i,
            "tok": [t0, t1],
            "chr": [int(chars[i, 0]), int(chars[i, 1])],
            "node": node_ids.get(label) if label >= 0 else None,
            "entropy": round(float(vals.mean()), 4) if vals.size else None,
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
        h = _finite_or_none(data.get("mean_entropy"))
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


def _edges(graph: nx.DiGraph, node_ids: dict, walk: np.ndarray, revisits: Iterable[Any]) -> list[dict]:
    on_cycle, returns = _cycle_edges(walk, revisits)
    out = []
    for u, v, data in graph.edges(data=True):
        w = _finite_or_none(data.get("weight"))
        out.append({
            "source": node_ids[u],
            "target": node_ids[v],
            "count": int(data.get("count", 1)),
            "weight": None if w is None else round(w, 4),
            "cycle": (u, v) in on_cycle,
            "returns": returns.get((u, v), 0),
        })
    return out


def _cycle_edges(walk: np.ndarray, revisits: Iterable[Any]) -> tuple[set, dict]:
    """Edges on a revisit cycle, and how many revisits each edge closes.

    A revisit at step s into node n closes the cycle that runs from n's last visit (step s - steps_since) to s;
    every edge the walk took on that way back is on a revisit cycle, and the last one (into n) closes it.
    """
    kept = np.flatnonzero(walk >= 0)
    edges: set = set()
    closing: dict = {}
    for r in revisits:
        step, _, gap = _revisit_tuple(r)
        path = walk[kept[(kept >= step - gap) & (kept <= step)]].tolist()
        moves = [(a, b) for a, b in zip(path[:-1], path[1:]) if a != b]
        edges.update(moves)
        if moves:
            closing[moves[-1]] = closing.get(moves[-1], 0) + 1
    return edges, closing


def _erank_curve(curve: tuple[Any, Any] | None, n_tokens: int) -> dict:
    """Effective-rank windows as points at their centres."""
    if curve is None:
        return {"x": [], "y": [], "window": 0}
    starts, values = (np.asarray(a, dtype=np.float64).reshape(-1) for a in curve)
    if starts.shape != values.shape:
        raise ValueError(f"erank_curve: starts and values differ in length ({starts.size} vs {values.size})")
    if starts.size == 0:
        return {"x": [], "y": [], "window": 0}
    # the windows are as wide as the usual spacing of their starts (erank_profile's default stride); the last
    # window may start closer, to end at the last token
    width = float(np.median(np.diff(starts))) if starts.size > 1 else float(n_tokens)
    x = np.minimum(starts + width / 2, max(n_tokens - 1, 0))
    return {"x": [round(float(v), 1) for v in x], "y": [_finite_or_none(v) for v in values],
            "window": int(width)}


def _marker_steps(markers: list[tuple[int, int, str]], step_chars: np.ndarray) -> list[int | None]:
    """The step of each marker: the one whose span holds the marker's start, else the next step (a lone "Wait."
    line is dropped by segmenting; the reconsideration happens in the step after it), as
    :func:`reasongraph.markers.markers_per_step` with ``gap="next"``; None after the last step."""
    out: list[int | None] = []
    n = step_chars.shape[0]
    for a, _, _ in markers:
        i = int(np.searchsorted(step_chars[:, 0], a, side="right")) - 1
        if not (i >= 0 and a < step_chars[i, 1]):
            i += 1
        out.append(i if 0 <= i < n else None)
    return out


# ---------------------------------------------------------------------------------------------- coercion
def _int_rows(arr: Any, name: str) -> np.ndarray:
    a = np.asarray(arr)
    if a.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"{name} must be an (n, 2) array of spans, got shape {a.shape}")
    return a.astype(np.int64)


def _bool_mask(mask: Any, n: int, name: str) -> np.ndarray:
    if mask is None:
        return np.zeros(n, dtype=bool)
    m = np.asarray(mask).reshape(-1)
    if m.shape != (n,):
        raise ValueError(f"{name} must be a mask of length {n}, got shape {m.shape}")
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
        raise ValueError("steps must have spans with 0 <= start <= end")
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


def _finite_or_none(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _scalar(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return _finite_or_none(v)
    return v if v is None else str(v)


def _cells(table: Any) -> list[list[int]]:
    t = np.asarray(table, dtype=np.int64)
    if t.shape != (2, 2):
        raise ValueError(f"an alignment table must be 2x2, got shape {t.shape}")
    return t.tolist()


def _fmt(v: Any) -> str:
    f = _finite_or_none(v)
    return "n/a" if f is None else f"{f:.3g}"


def _default_title(model_name: str, n_steps: int, n_tokens: int) -> str:
    who = f"{model_name} · " if model_name else ""
    return f"reasongraph · {who}{n_steps} steps, {n_tokens} tokens"
