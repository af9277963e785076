"""The pages as text and as files: one trace's page and a dataset report (the package's overview is in
:mod:`reasongraph.html`).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reasongraph.core.checks import check_path_writable
from reasongraph.core.errors import InputError, opt
from reasongraph.html.document import render_view, to_json
from reasongraph.html.report_view import line_key, most_cyclic_ids, most_cyclic_rows, report_payload
from reasongraph.html.trace_view import build_trace_payload, trace_payload

__all__ = [
    "build_trace_payload",
    "line_key",
    "most_cyclic_ids",
    "most_cyclic_rows",
    "report_html",
    "report_payload",
    "to_json",
    "trace_html",
    "trace_payload",
    "write_report_html",
    "write_trace_html",
]


def trace_html(analysis: Any, *, title: str | None = None, full_page: bool = True, root_id: str | None = None) -> str:
    """The interactive view of one analyzed trace as HTML.

    Parameters
    ----------
    analysis : an :class:`~reasongraph.analysis.result.Analysis`, or a trace payload dict (from :func:`trace_payload`
        or a saved ``.json`` of one).
    title : page title; defaults to the model name with the step and token counts.
    full_page : a complete document (True) or a fragment for a notebook cell (``_repr_html_``) or another page.
    root_id : id of the view's root element; unique by default, so several views never collide.

    Returns
    -------
    str
    """
    payload = _as_payload(analysis, "trace")
    if payload is None:
        if isinstance(analysis, Mapping) or not hasattr(analysis, "alignment"):
            raise InputError(f"{opt('analysis')} must be an Analysis (from analyze or analyze_trace) or a trace view "
                             f"payload, got {type(analysis).__name__}")
        payload = trace_payload(analysis, title=title)
    elif title is not None:
        payload = {**payload, "title": title}
    return render_view("trace", payload, full_page=full_page, root_id=root_id)


def write_trace_html(analysis: Any, path: str | Path, *, title: str | None = None) -> Path:
    """Write :func:`trace_html` to ``path`` (UTF-8; missing folders are created) and return the path."""
    check_path_writable("path", path)
    return _write(trace_html(analysis, title=title), path)


def report_html(rows: Any, *, compare: Any = None, collapse: Mapping | None = None, title: str | None = None,
                top: int = 10, analyses: Mapping[str, Any] | None = None, links: Mapping[str, str] | None = None,
                options: Mapping | None = None, n_errors: int | None = None, layers: Mapping | None = None,
                diversity: Any = None, full_page: bool = True, root_id: str | None = None) -> str:
    """The dataset report as HTML: the level-collapse figure, per-group distributions, the compare table, the
    most cyclic traces.

    Parameters
    ----------
    rows : row dicts (as in rows.jsonl), a DataFrame of them, a mapping with ``rows``, or a report payload dict.
    compare : the result of ``reasongraph compare`` (a Comparison, its ``--json`` dict, or a path to that JSON).
    collapse : the level-collapse table (``CollapseTable.as_dict()``), drawn first.
    title : page title.
    top : how many of the most cyclic traces to list.
    analyses : {record id, or :func:`line_key` of a run's row: Analysis or trace payload}; those traces are
        embedded as interactive views (drawn when their section is opened; ~40 KB per 1k tokens).
    links : {record id: URL or relative path} of per-trace pages.
    options : the options the run was made with, shown in the report.
    n_errors : records that could not be scored.
    layers, diversity : the layer columns' table and the diversity rows of a run (see
        :func:`reasongraph.html.report_view.report_payload`).
    full_page, root_id : as :func:`trace_html`.

    Returns
    -------
    str
    """
    payload = _as_payload(rows, "report")
    if payload is None:
        embeds = {str(k): (_as_payload(v, "trace") or trace_payload(v, title=f"trace {k}"))
                  for k, v in (analyses or {}).items()}
        payload = report_payload(rows, compare=compare, collapse=collapse, title=title, top=top, embeds=embeds,
                                 links=links, options=options, n_errors=n_errors, layers=layers, diversity=diversity)
    return render_view("report", payload, full_page=full_page, root_id=root_id)


def write_report_html(rows: Any, path: str | Path, *, compare: Any = None, **kwargs: Any) -> Path:
    """Write :func:`report_html` to ``path`` (UTF-8; missing folders are created) and return the path;
    keyword arguments as there."""
    check_path_writable("path", path)
    return _write(report_html(rows, compare=compare, **kwargs), path)


#: What the page's script reads from each kind of view payload (see build_trace_payload and report_payload).
_PAYLOAD_KEYS = {
    "trace": ("title", "model", "text", "n_tokens", "token_spans", "entropy", "fork", "bins", "segments", "steps",
              "nodes", "edges", "markers", "metrics", "metric_groups", "tables", "curves"),
    "report": ("title", "n_rows", "groups", "group_sizes", "run", "detection", "distributions", "compare", "top",
               "embeds"),
}


def _as_payload(obj: Any, kind: str) -> dict | None:
    """``obj`` itself when it is a view payload of this kind (with every part the page reads); None when it is
    something else."""
    if isinstance(obj, Mapping) and obj.get("format") == "reasongraph.view":
        if obj.get("kind") != kind:
            raise InputError(f"expected a {kind} payload, got a {obj.get('kind')!r} payload")
        missing = [key for key in _PAYLOAD_KEYS[kind] if key not in obj]
        if missing:
            raise InputError(f"a {kind} view payload must hold {', '.join(missing)}; it was not written by "
                             "reasongraph, or was cut short")
        return dict(obj)
    return None


def _write(text: str, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
