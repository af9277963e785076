"""The view payload of a dataset report: the level-collapse figure, per-group distributions, the compare table,
the most cyclic traces.

Takes plain values: the rows (dicts as in rows.jsonl), the run's options, the comparison and collapse table as
``reasongraph compare`` makes them, and the analyses to embed. Reading a run folder is
:class:`reasongraph.runs.folder.reader.ScoredRun`'s job, and :mod:`reasongraph.runs.folder.report` joins the two.
Statistics are recomputed from the rows (the rows are the source of truth; summary.json is not needed).
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from reasongraph.analysis import catalogue
from reasongraph.analysis.groups.per_group import detection, group_of as _group_of_field, summarize
from reasongraph.analysis.groups.pooled_alignment import pool_alignment
from reasongraph.analysis.samples.diversity import METRICS
from reasongraph.analysis.samples.spread import SPREAD_METRICS
from reasongraph.core.checks import check_int
from reasongraph.core.errors import InputError
from reasongraph.core.json_values import finite_or_none as _num, scalar as _scalar
from reasongraph.html.report_tables import compare_table, is_scalar
from reasongraph.stats.bootstrap import wilson_interval

__all__ = ["line_key", "most_cyclic_ids", "most_cyclic_rows", "report_payload"]


_MAX_DOTS = 400  # dots drawn per group and metric; box statistics always use every row
_SAFE_HREF = re.compile(r"^(?:https?:|file:|[^:/?#]*(?:[/?#]|$))", re.IGNORECASE)


def report_payload(rows: Any, *, compare: Any = None, collapse: Mapping | None = None, title: str | None = None,
                   top: int = 10, embeds: Mapping[str, dict] | None = None, links: Mapping[str, str] | None = None,
                   options: Mapping | None = None, n_errors: int | None = None, layers: Mapping | None = None,
                   diversity: Sequence[Mapping] | None = None) -> dict:
    """Build the report payload.

    Parameters
    ----------
    rows : row dicts (as in rows.jsonl), a pandas DataFrame of them, or a mapping with ``rows`` (and optionally
        ``options`` and ``errors``).
    compare : ``reasongraph compare --json`` output (a Comparison, its dict, or a path to that JSON), or None.
    collapse : the level-collapse table (``CollapseTable.as_dict()``), drawn first; None for none.
    title : report title.
    top : number of most cyclic traces listed (ranked by loop_count, then n_revisits, then max_revisits).
    embeds : {record id, or :func:`line_key` of a row: trace payload} of traces to embed as interactive views.
    links : {record id: href} of per-trace pages (only http(s), file and relative links are kept).
    options : the options the run was made with (shown as they are).
    n_errors : records that could not be scored, when known.
    layers : the layer columns' table (summary.json's ``layers``: {layer: {group: {detection_ratio, detection_ci}}}),
        drawn as the detection ratio by layer per group.
    diversity : the rows of diversity.jsonl (one per prompt with several samples): per-group means with CIs, and
        the walks of each group's most and least diverse prompts side by side.

    Returns
    -------
    dict
    """
    check_int("top", top, low=0)
    rows, options, n_errors = _source(rows, options, n_errors)
    groups = _groups(rows)
    by_group = {g: [r for r in rows if _group_of(r) == g] for g in groups}
    embeds = dict(embeds or {})
    return {
        "format": "reasongraph.view",
        "version": 1,
        "kind": "report",
        "title": title or "reasongraph report",
        "n_rows": len(rows),
        "n_errors": n_errors,
        "groups": groups,
        "group_sizes": [len(by_group[g]) for g in groups],
        "run": _run_options(options),
        "collapse": dict(collapse) if collapse is not None else None,
        "layers": _layers(layers) if layers else None,
        "diversity": _diversity(diversity) if diversity else None,
        "detection": [_detection(by_group[g]) for g in groups],
        "alignment": [_alignment(by_group[g]) for g in groups],
        "distributions": _distributions(by_group, groups),
        "compare": compare_table(compare),
        "top": _top_rows(rows, top, dict(links or {}), embeds),
        "embeds": embeds,
    }


def most_cyclic_ids(rows: Any, *, top: int = 10) -> list[str | None]:
    """Ids of the ``top`` most cyclic rows (by loop_count, then n_revisits, then max_revisits), in report order."""
    return [_id(r.get("id")) for r in most_cyclic_rows(rows, top=top)]


def most_cyclic_rows(rows: Any, *, top: int = 10) -> list[dict]:
    """The ``top`` most cyclic rows, in report order (the ones a report lists, and embeds first)."""
    return _ranked(_source(rows, None, None)[0])[:top]


def line_key(line: Any) -> str:
    """The key of a run's row in a report's embeds: its input line, unique where ids may repeat."""
    return f"line:{line}"


# ---------------------------------------------------------------------------------------------- sources
def _source(obj: Any, options: Mapping | None, n_errors: int | None) -> tuple[list[dict], dict, int | None]:
    """(rows, options, number of errors or None) from the accepted forms of ``rows``."""
    if isinstance(obj, (str, os.PathLike)):
        raise InputError(f"{obj}: report_payload takes rows, not a run folder; read one with "
                         "reasongraph.ScoredRun (or use reasongraph.write_run_report)")
    if isinstance(obj, Mapping):
        if "rows" not in obj:
            raise InputError("rows: a mapping must hold the rows under 'rows'")
        options = options if options is not None else obj.get("options") or {}
        if n_errors is None and isinstance(obj.get("errors"), Sequence):
            n_errors = len(obj["errors"])
        obj = obj["rows"]
    if hasattr(obj, "to_dict"):  # a pandas DataFrame
        obj = obj.to_dict(orient="records")
    if not isinstance(obj, Sequence) or isinstance(obj, (str, bytes)) or \
            not all(isinstance(r, Mapping) for r in obj):
        raise InputError("rows must be a list of row dicts, a DataFrame, or a mapping with 'rows'")
    return [dict(r) for r in obj], dict(options or {}), n_errors


def _run_options(options: Mapping) -> dict:
    """The options a run was made with, scalars and lists (nested values are left out)."""
    return {str(k): v for k, v in options.items() if is_scalar(v) or isinstance(v, (list, tuple))}


def _group_of(row: Mapping) -> str:
    return "all" if row.get("group") in (None, "") else _group_of_field(row)


def _groups(rows: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for r in rows:
        seen.setdefault(_group_of(r), None)
    return list(seen)


def _value(row: Mapping, key: str) -> float | None:
    v = row.get(key)
    return float(v) if isinstance(v, bool) else _num(v)


# ---------------------------------------------------------------------------------------------- statistics
def _detection(rows: list[dict]) -> dict:
    k, n = detection(rows)
    lo, hi = wilson_interval(k, n)
    return {"n": n, "k": k, "ratio": k / n if n else None, "lo": _num(lo), "hi": _num(hi)}


def _alignment(rows: list[dict]) -> dict | None:
    """The group's alignment pooled over its traces
    (:func:`reasongraph.analysis.groups.pooled_alignment.pool_alignment`): the Mantel-Haenszel odds ratios with CMH p
    and CI, and the hidden-only share with its CI; None without cells."""
    if not any("align_revisit_spike" in r for r in rows):
        return None
    return {k: _scalar(v) for k, v in pool_alignment(rows).items()}


def _distributions(by_group: dict[str, list[dict]], groups: list[str]) -> list[dict]:
    out = []
    for m in (catalogue.by_key(k) for k in catalogue.distribution_keys()):
        per_group = []
        for g in groups:
            pairs = [(v, r.get("id")) for r in by_group[g] if (v := _value(r, m.key)) is not None]
            per_group.append(_box(pairs))
        if any(pg["n"] for pg in per_group):
            out.append({"key": m.key, "label": m.label, "help": m.help, "groups": per_group})
    return out


def _box(pairs: list[tuple[float, Any]]) -> dict:
    if not pairs:
        return {"n": 0, "values": [], "ids": []}
    v = np.array([p[0] for p in pairs], dtype=np.float64)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    order = np.argsort(v, kind="stable")
    if v.size > _MAX_DOTS:  # evenly spaced ranks keep the shape of the distribution
        order = order[np.unique(np.linspace(0, v.size - 1, _MAX_DOTS).round().astype(int))]
    return {
        "n": int(v.size), "mean": _num(v.mean()), "median": _num(med), "q1": _num(q1), "q3": _num(q3),
        "min": _num(v.min()), "max": _num(v.max()),
        "values": [_num(v[i]) for i in order], "ids": [_id(pairs[i][1]) for i in order],
    }


def _ranked(rows: list[dict]) -> list[dict]:
    """Rows with a loop_count, most cyclic first (ties keep file order)."""
    def rank(r: dict) -> tuple:
        return tuple(-(_value(r, k) or 0.0) for k in ("loop_count", "n_revisits", "max_revisits"))

    return sorted((r for r in rows if _value(r, "loop_count") is not None), key=rank)


def _top_rows(rows: list[dict], top: int, links: Mapping[str, str], embeds: Mapping[str, dict]) -> dict:
    ranked = _ranked(rows)[:top]
    cols = [c for c in catalogue.top_keys() if any(_value(r, c) is not None for r in ranked)]
    items = []
    for r in ranked:
        rid = _id(r.get("id"))
        href = links.get(rid)
        items.append({
            "id": rid,
            "group": _group_of(r),
            "values": [_value(r, c) for c in cols],
            "href": href if href is not None and _SAFE_HREF.match(href) else None,
            "embed": next((k for k in (line_key(r.get("line")), rid) if k is not None and k in embeds), None),
        })
    return {"columns": cols, "labels": [catalogue.by_key(c).label for c in cols],
            "help": [catalogue.by_key(c).help for c in cols], "rows": items}


# ---------------------------------------------------------------------------------------------- layers, samples
def _layers(table: Mapping) -> dict:
    """The detection ratio by layer per group: ``specs`` (the layers, in the run's order), ``groups``, and per group
    ``ratio``, ``lo``, ``hi`` lists aligned with ``specs``."""
    specs = [str(s) for s in table]
    table = {s: {("all" if g == "None" else g): e for g, e in per_group.items()} for s, per_group in table.items()}
    groups = sorted({g for per_group in table.values() for g in per_group})

    def series(g: str, pick) -> list:
        return [_num(pick(table[s].get(g) or {})) for s in specs]

    return {"specs": specs, "groups": groups,
            "ratio": {g: series(g, lambda e: e.get("detection_ratio")) for g in groups},
            "lo": {g: series(g, lambda e: (e.get("detection_ci") or [None, None])[0]) for g in groups},
            "hi": {g: series(g, lambda e: (e.get("detection_ci") or [None, None])[1]) for g in groups}}


def _diversity(rows: Sequence[Mapping]) -> dict:
    """Per group, the mean and bootstrap CI of each diversity measure over prompts; and for each group its most
    and least diverse prompts (by walk distance) with their samples' walks, to be drawn side by side."""
    rows = [dict(r) for r in rows]
    # the walks' measures, then the hidden states' (absent from the rows of a run scored before they existed)
    shown = METRICS + tuple(m for m in SPREAD_METRICS if any(m in r for r in rows))
    means = summarize(rows, group_key="group", metrics=shown)
    extremes = []
    for g in means:
        members = sorted((r for r in rows if str(r.get("group")) == g),
                         key=lambda r: (_num(r.get("walk_distance")) or 0.0))
        picks = [("most diverse", members[-1])] + ([("least diverse", members[0])] if len(members) > 1 else [])
        for label, r in picks:
            extremes.append({"group": g, "label": label, "prompt": _id(r.get("sample_group")),
                             "walk_distance": _num(r.get("walk_distance")),
                             "distinct_walk_share": _num(r.get("distinct_walk_share")),
                             "ids": [_id(i) for i in r.get("ids") or []],
                             "walks": [[int(x) for x in w] for w in r.get("walks") or []]})
    return {"metrics": [{"key": m, "label": m.replace("_", " ")} for m in shown],
            "groups": {g: {m: {k: _scalar(v) for k, v in e["metrics"][m].items()} for m in shown}
                       for g, e in means.items()},
            "extremes": extremes}


def _id(v: Any) -> str | None:
    return None if v is None else str(v)
