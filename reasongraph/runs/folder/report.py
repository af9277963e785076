"""The HTML report of a scored run: :class:`~reasongraph.runs.folder.reader.ScoredRun` read, :mod:`reasongraph.html`
drawn.

The report ranks the run's rows by cyclicity and embeds the most cyclic traces as interactive views, rebuilt from
the run's trace cache and clusterers without the model.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reasongraph.core.checks import check_int, check_path_writable
from reasongraph.runs.folder.reader import ScoredRun

__all__ = ["run_report_html", "write_run_report"]


def run_report_html(run: ScoredRun | str | os.PathLike, *, compare: Any = None, collapse: Mapping | None = None,
                    embed: int = 3, top: int = 10, title: str | None = None, link_base: str | Path | None = None,
                    full_page: bool = True) -> str:
    """The report of a run folder as HTML.

    Parameters
    ----------
    run : a :class:`~reasongraph.runs.folder.reader.ScoredRun` or its folder.
    compare, collapse : a comparison and a level-collapse table to show (see :func:`reasongraph.html.write.report_html`;
        a comparison's dict that holds ``collapse`` provides it).
    embed : how many of the most cyclic traces to embed as interactive views (at most ``top``).
    top : how many of the most cyclic traces to list.
    title : page title (default: the folder's name).
    link_base : the folder the report will be written to, so links to per-trace pages are relative.
    """
    from reasongraph.html.report_view import most_cyclic_rows
    from reasongraph.html.write import report_html

    check_int("embed", embed, low=0)
    check_int("top", top, low=0)
    run = run if isinstance(run, ScoredRun) else ScoredRun(run)
    rows = list(run.rows())
    if collapse is None and isinstance(compare, Mapping):
        collapse = compare.get("collapse")
    return report_html(rows, compare=compare, collapse=collapse, top=top, title=title or f"reasongraph report · "
                       f"{run.path.resolve().name}", analyses=_embeds(run, most_cyclic_rows(rows, min(embed, top))),
                       links=run.trace_pages(link_base), options=_options(run), n_errors=run.n_errors,
                       layers=(run.summary or {}).get("layers"), diversity=run.diversity(), full_page=full_page)


def write_run_report(run: ScoredRun | str | os.PathLike, path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`run_report_html` to ``path`` (UTF-8; missing folders are created) and return it; links to
    per-trace pages are relative to the report's folder."""
    check_path_writable("path", path)
    path = Path(path)
    kwargs.setdefault("link_base", path.parent)
    html = run_report_html(run, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def _options(run: ScoredRun) -> dict:
    """The run's options as given (``k`` may be "auto"), then the K its largest clustering got and why, and the
    run's notes (summary.json's ``k``, ``k_rule`` and ``notes``; fit.json's before the summary exists)."""
    summary, fit = run.summary or {}, run.fit or {}
    k, rule = summary.get("k"), summary.get("k_rule")
    if k is None:
        units = [u for u in (fit.get("units") or {}).values() if u.get("k")]
        top = max(units, key=lambda u: u["n_steps"], default={})
        k, rule = top.get("k"), top.get("k_rule")
    extra = {"k_chosen": f"{k} ({rule})" if rule else k} if k is not None else {}
    notes = summary.get("notes", fit.get("notes"))
    return {**run.options, **extra, **({"notes": list(notes)} if notes else {})}


def _embeds(run: ScoredRun, rows: list[dict]) -> dict[str, Any]:
    """{line_key: trace payload} of chosen rows; logs a warning when some cannot be rebuilt."""
    from reasongraph.html.report_view import line_key
    from reasongraph.html.trace_view import trace_payload

    if not rows:
        return {}
    analyses = run.analyses(rows)
    if len(analyses) < len(rows):  # the report is incomplete: a warning the caller can act on
        warnings.warn(f"{run.path}: embedded {len(analyses)} of the {len(rows)} most cyclic traces; the others "
                      "could not be read back from the run's trace cache (gone, or a run from before reasongraph "
                      "kept trace keys in its rows)", stacklevel=3)
    titles = {r["line"]: " · ".join(str(v) for v in (r.get("id") or f"line {r['line']}", r.get("group")) if v)
              for r in rows}
    return {line_key(line): trace_payload(a, title=titles[line]) for line, a in analyses.items()}
