"""Self-contained interactive HTML: one trace's reasoning graph and text, and a dataset report.

Each page is one file with its scripts, stylesheet and data inline: no network request, opens from ``file://``,
fits in a paper's supplement. The graph layout is computed in Python (networkx), the page draws SVG with a
little hand-written JavaScript.

>>> from reasongraph.html import write_trace_html
>>> write_trace_html(analysis, "trace.html")            # doctest: +SKIP
>>> from reasongraph.html import write_report_html
>>> write_report_html("runs/x", "report.html")          # doctest: +SKIP
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reasongraph.html.page import render_view, to_json
from reasongraph.html.payload import build_trace_payload, trace_payload
from reasongraph.html.report import line_key, most_cyclic_ids, most_cyclic_rows, report_payload

__all__ = [
    "build_trace_payload",
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
    analysis : an :class:`~reasongraph.analysis.Analysis`, or a trace payload dict (from :func:`trace_payload`
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
        payload = trace_payload(analysis, title=title)
    elif title is not None:
        payload = {**payload, "title": title}
    return render_view("trace", payload, full_page=full_page, root_id=root_id)


def write_trace_html(analysis: Any, path: str | Path, *, title: str | None = None) -> Path:
    """Write :func:`trace_html` to ``path`` (UTF-8) and return the path."""
    return _write(trace_html(analysis, title=title), path)


def report_html(run_dir_or_results: Any, compare: Any = None, *, title: str | None = None, top: int = 10,
                embed: int = 0, analyses: Mapping[str, Any] | None = None, links: Mapping[str, str] | None = None,
                link_base: str | Path | None = None, full_page: bool = True, root_id: str | None = None) -> str:
    """The dataset report as HTML: per-group distributions, the compare table, the most cyclic traces.

    Parameters
    ----------
    run_dir_or_results : a ``reasongraph score`` output directory (``rows.jsonl``, ``summary.json``), a list of
        row dicts, a mapping with ``rows`` (and optionally ``summary``), or a report payload dict.
    compare : the result of ``reasongraph compare`` (its ``--json`` dict, or a path to that JSON file), or None.
    title : page title.
    top : how many of the most cyclic traces to list.
    embed : for a run folder, how many of those to embed as interactive views, rebuilt from the run's trace cache
        and clusterer by :func:`reasongraph.dataset.run_analyses` (no model needed; ~40 KB per 1k tokens).
    analyses : optional {record id, or ``line_key(line)`` of a run's row: Analysis or trace payload}; those
        traces are embedded as interactive views (drawn when their section is opened). Given, ``embed`` is ignored.
    links : optional {record id: URL or relative path} of per-trace pages; by default files
        ``<run_dir>/html/<id>.html`` that exist are linked (ids made file-safe: characters other than letters,
        digits, ``.``, ``_`` and ``-`` become ``_``).
    link_base : the folder the report will be saved in, so those links are relative (file:// URIs otherwise).
    full_page, root_id : as :func:`trace_html`.

    Returns
    -------
    str
    """
    payload = _as_payload(run_dir_or_results, "report")
    if payload is None:
        if analyses is None and embed > 0 and isinstance(run_dir_or_results, (str, os.PathLike)):
            analyses = _run_embeds(run_dir_or_results, min(embed, top))
        embeds = None
        if analyses:
            embeds = {str(k): (_as_payload(v, "trace") or trace_payload(v, title=f"trace {k}"))
                      for k, v in analyses.items()}
        payload = report_payload(run_dir_or_results, compare=compare, title=title, top=top, embeds=embeds,
                                 links=links, link_base=link_base)
    return render_view("report", payload, full_page=full_page, root_id=root_id)


def _run_embeds(run_dir: str | os.PathLike, n: int) -> dict[str, Any]:
    """{line_key: trace payload} of the n most cyclic rows of a run folder; warns when some cannot be rebuilt."""
    from reasongraph.dataset import run_analyses

    rows = most_cyclic_rows(run_dir, n)
    analyses = run_analyses(run_dir, rows)
    titles = {r["line"]: " · ".join(str(v) for v in (r.get("id") or f"line {r['line']}", r.get("group")) if v)
              for r in rows}
    if len(analyses) < len(rows):
        warnings.warn(f"{run_dir}: embedded {len(analyses)} of the {len(rows)} most cyclic traces; the others could "
                      "not be read back from the run's trace cache (gone, or a run from before reasongraph kept "
                      "trace keys in its rows)", stacklevel=3)
    return {line_key(line): trace_payload(a, title=titles[line]) for line, a in analyses.items()}


def write_report_html(run_dir_or_results: Any, path: str | Path, compare: Any = None, **kwargs: Any) -> Path:
    """Write :func:`report_html` to ``path`` (UTF-8) and return the path; keyword arguments as there (links to
    per-trace pages are made relative to the folder of ``path``)."""
    kwargs.setdefault("link_base", Path(path).parent)
    return _write(report_html(run_dir_or_results, compare=compare, **kwargs), path)


def _as_payload(obj: Any, kind: str) -> dict | None:
    """``obj`` itself when it is a view payload of this kind; None when it is something else."""
    if isinstance(obj, Mapping) and obj.get("format") == "reasongraph.view":
        if obj.get("kind") != kind:
            raise ValueError(f"expected a {kind} payload, got a {obj.get('kind')!r} payload")
        return dict(obj)
    return None


def _write(text: str, path: str | Path) -> Path:
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not exist")
    path.write_text(text, encoding="utf-8")
    return path
