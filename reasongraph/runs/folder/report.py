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

from reasongraph.analysis.groups.comparison import comparison_mode, with_reference_share
from reasongraph.analysis.groups.level_collapse import collapse_table
from reasongraph.core.checks import check_int, check_path_writable
from reasongraph.core.storage import read_json
from reasongraph.html.report_view import line_key, most_cyclic_rows
from reasongraph.runs.folder.reader import ScoredRun
from reasongraph.runs.scoring.k_choice import chosen_k

__all__ = ["report_collapse", "run_report_html", "write_run_report"]


def run_report_html(run: ScoredRun | str | os.PathLike, *, compare: Any = None, collapse: Mapping | None = None,
                    embed: int = 3, top: int = 10, title: str | None = None, link_base: str | Path | None = None,
                    full_page: bool = True) -> str:
    """The report of a run folder as HTML.

    Parameters
    ----------
    run : a :class:`~reasongraph.runs.folder.reader.ScoredRun` or its folder.
    compare, collapse : a comparison and a level-collapse table to show
        (see :func:`reasongraph.html.write.report_html`).
        Without ``collapse`` the figure is drawn whenever it can be (:func:`report_collapse`): from the comparison's
        ``collapse``, else computed for its groups, else for a run of two groups with pairs.
    embed : how many of the most cyclic traces to embed as interactive views (at most ``top``).
    top : how many of the most cyclic traces to list.
    title : page title (default: the folder's name).
    link_base : the folder the report will be written to, so links to per-trace pages are relative.
    """
    from reasongraph.html.write import report_html

    check_int("embed", embed, low=0)
    check_int("top", top, low=0)
    run = run if isinstance(run, ScoredRun) else ScoredRun(run)
    rows = list(run.rows())
    if collapse is None:
        collapse = report_collapse(run, rows, compare=compare)
    return report_html(rows, compare=compare, collapse=collapse, top=top, title=title or f"reasongraph report · "
                       f"{run.path.resolve().name}", analyses=_embeds(run, most_cyclic_rows(rows, top=min(embed, top))),
                       links=run.trace_pages(link_base=link_base), options=_options(run), n_errors=run.n_errors,
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
        chosen = chosen_k(fit)
        k, rule = chosen["k"], chosen["k_rule"]
    extra = {"k_chosen": f"{k} ({rule})" if rule else k} if k is not None else {}
    notes = summary.get("notes", fit.get("notes"))
    return {**run.options, **extra, **({"notes": list(notes)} if notes else {})}


def _embeds(run: ScoredRun, rows: list[dict]) -> dict[str, Any]:
    """{line_key: trace payload} of chosen rows; logs a warning when some cannot be rebuilt."""
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


def report_collapse(run: ScoredRun, rows: list[dict], *, compare: Any = None) -> dict | None:
    """The level-collapse table a report of ``run`` draws: the one ``compare`` holds (the dict or JSON file of
    ``reasongraph compare --json``), else computed for ``compare``'s groups A and B (a Comparison from
    :func:`~reasongraph.compare_groups`, or a dict without ``collapse``), else, with no comparison, for a run
    of exactly two groups (A the first in the input) that share pairs. None when there is nothing to pair."""
    if hasattr(compare, "as_dict"):
        compare = compare.as_dict()
    if isinstance(compare, (str, os.PathLike)):
        compare = read_json(compare, what="comparison (the output of reasongraph compare --json)")
    if isinstance(compare, Mapping):
        if isinstance(compare.get("collapse"), Mapping):
            return dict(compare["collapse"])
        if not {"a", "b"} <= set(compare):
            return None
        a, b, control = str(compare["a"]), str(compare["b"]), compare.get("control")
        group_field, pair_field = compare.get("group_field") or "group", compare.get("pair_field", "pair")
    elif compare is None:
        group_field, pair_field, control = run.column(None, "group"), run.column(None, "pair"), None
        groups = list(dict.fromkeys(str(r[group_field]) for r in rows if r.get(group_field) is not None)) \
            if group_field else []
        if len(groups) != 2:
            return None
        a, b = groups
    else:
        return None
    return _collapse_of(run, rows, a, b, group_field=group_field, pair_field=pair_field, control=control)


def _collapse_of(run: ScoredRun, rows: list[dict], a: str, b: str, *, group_field: str, pair_field: str | None,
                 control: str | None) -> dict | None:
    """The level-collapse table of ``b`` against ``a``, as ``reasongraph compare`` computes it; None without
    pairs shared by the two groups."""
    pairs = {g: {r.get(pair_field) for r in rows if str(r.get(group_field)) == g} - {None} for g in (a, b)} \
        if pair_field else {}
    if not pairs or not pairs[a] & pairs[b]:
        return None
    return collapse_table(with_reference_share(rows, a), a, b, group_field=group_field, pair_field=pair_field,
                          prompt_rows=run.diversity(), control=control,
                          mode=comparison_mode(rows, a, b, group_field=group_field)).as_dict()
