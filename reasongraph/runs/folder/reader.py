"""The read side of a run folder (:class:`ScoredRun`): rows, options, the fit, the clusterer and analyses rebuilt
from the trace cache without the model."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from reasongraph.core.checks import check_path
from reasongraph.core.errors import InputError, opt
from reasongraph.core.storage import read_json, read_jsonl
from reasongraph.runs.folder.layout import RunLayout, page_name
from reasongraph.runs.scoring.options import ScoreOptions
from reasongraph.trace.cache import TraceCache
from reasongraph.trace.trace import Trace

__all__ = ["ScoredRun"]


class ScoredRun:
    """A run folder, read.

    Parameters
    ----------
    path : the ``out`` folder of :func:`reasongraph.score_dataset` (``reasongraph score --out``).

    Raises
    ------
    InputError : the folder does not exist or holds no run (no manifest.json and no rows.jsonl).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.layout = RunLayout(check_path("path", path))
        self.path = self.layout.dir
        if not self.path.is_dir():
            raise InputError(f"{self.path}: no such run folder (expected the {opt('out')} folder of a score run)")
        if not (self.layout.manifest.is_file() or self.layout.rows.is_file()):
            raise InputError(f"{self.path} holds no scored run (no manifest.json or rows.jsonl): is it the "
                             f"{opt('out')} folder of a score run?")
        self._manifest: dict | None = None

    def __repr__(self) -> str:
        return f"ScoredRun({str(self.path)!r})"

    # ------------------------------------------------------------------ what the run was made with
    @property
    def manifest(self) -> dict:
        if self._manifest is None:
            found = read_json(self.layout.manifest, what="run manifest") if self.layout.manifest.is_file() else {}
            self._manifest = found if isinstance(found, dict) else {}
        return self._manifest

    @property
    def options(self) -> dict:
        """The options the run was started with ({} for a folder without a manifest)."""
        options = self.manifest.get("options", {})
        return options if isinstance(options, dict) else {}

    @property
    def fields(self) -> dict:
        """The input field names the run read: {"text", "prompt", "id", "group", "pair": name or None}."""
        return self.options.get("fields") or {}

    @property
    def fit(self) -> dict | None:
        """fit.json (None before the fit)."""
        return read_json(self.layout.fit, what="fit file") if self.layout.fit.is_file() else None

    @property
    def summary(self) -> dict | None:
        """summary.json (None before the run ended)."""
        return read_json(self.layout.summary, what="run summary") if self.layout.summary.is_file() else None

    def clusterers(self) -> dict[str, Any]:
        """{clustering unit: fitted clusterer} (a model's name, or a group's with cluster_by="group"; None for
        a unit without steps); {} before the fit."""
        from reasongraph.graph.cluster.estimator import load_clusterer

        units = (self.fit or {}).get("units", {})
        return {u: load_clusterer(self.path / e["clusterer_file"]) if e.get("clusterer_file") else None
                for u, e in units.items()}

    def cluster_unit(self, row: Mapping[str, Any]) -> str:
        """The clustering unit a row's trace was labeled in."""
        by_group = (self.fit or {}).get("cluster_by") == "group"
        return str(row.get("group")) if by_group else str(row.get("scored_by"))

    # ------------------------------------------------------------------ results
    def rows(self) -> Iterator[dict]:
        """The scored rows, in the order they were written (input order)."""
        if not self.layout.rows.is_file():
            raise InputError(f"{self.path} holds no rows.jsonl yet: the run has not scored a record")
        return read_jsonl(self.layout.rows)

    def errors(self) -> Iterator[dict]:
        """The records that could not be scored: {line, id, reason}."""
        return read_jsonl(self.layout.errors)

    def diversity(self) -> list[dict]:
        """The diversity rows (one per prompt with several samples); [] for a run without a sample group."""
        return list(read_jsonl(self.layout.diversity))

    @property
    def n_errors(self) -> int:
        return sum(1 for _ in self.errors())

    def column(self, asked: str | None, canonical: str, *, rows: list[dict] | None = None) -> str | None:
        """The row column for a grouping or pairing field: "group" or "pair" for the field the run read,
        ``asked`` itself for another column of the rows, None when neither is given.

        Raises InputError when ``asked`` is no column of the rows.
        """
        run_field = self.fields.get(canonical)
        if asked is None:
            return canonical if run_field else None
        if asked in (canonical, run_field):
            return canonical
        if rows and not any(asked in r for r in rows):
            raise InputError(f"{asked!r} is not a field of the rows (the run's {canonical} field "
                             f"{run_field!r} is in the column {canonical!r})")
        return asked

    # ------------------------------------------------------------------ traces and analyses
    @property
    def trace_cache(self) -> Path:
        """The trace cache the run used (as summary.json recorded it, relative to the run when inside it)."""
        recorded = (self.summary or {}).get("trace_cache")
        if recorded and (self.path / recorded).is_dir():  # an absolute recorded path stays as it is under /
            return self.path / recorded
        return self.layout.traces

    def trace(self, row: Mapping[str, Any], *, cache_dir: str | Path | None = None) -> Any:
        """The cached Trace behind a row, or None when it cannot be read back (gone, or a row without key)."""
        key = row.get("trace_key")
        if not key:
            return None
        try:
            return Trace.load(TraceCache.entry_path(cache_dir or self.trace_cache, key))
        except (OSError, ValueError):
            return None

    def analyses(self, rows: Iterable[Mapping[str, Any]], *, cache_dir: str | Path | None = None) -> dict[int, Any]:
        """{row line: Analysis} for chosen rows, rebuilt from the trace cache and the clusterer, no model needed.

        Each analysis equals the one the row's metrics came from (same trace, clustering and options). Rows whose
        trace cannot be read back are left out, as is everything when the fit is missing.
        """
        from reasongraph.analysis.one_trace import analyze_trace

        clusterers = self.clusterers()
        if not clusterers:
            return {}
        options = self.analysis_options()
        out = {}
        for row in rows:
            trace = self.trace(row, cache_dir=cache_dir) if row.get("line") is not None else None
            unit = self.cluster_unit(row)
            if trace is not None and unit in clusterers:
                out[int(row["line"])] = analyze_trace(trace, clusterers[unit], **options)
        return out

    def analysis_options(self) -> dict:
        """The keyword arguments of :func:`reasongraph.analyze_trace` the run scored with."""
        return {k: self.options[k] for k in ScoreOptions.ANALYSIS_KEYS if k in self.options}

    def trace_pages(self, *, link_base: str | Path | None = None) -> dict[str, str]:
        """{record id: link} of the per-trace pages ``html/<id>.html`` that exist, relative to ``link_base``
        (the folder a report is written to) when given, else file:// URIs."""
        if not self.layout.pages.is_dir():
            return {}
        out = {}
        for row in self.rows():
            rid = row.get("id")
            page = self.layout.pages / f"{page_name(str(rid))}.html" if rid is not None else None
            if page is not None and page.is_file():
                out[str(rid)] = (Path(os.path.relpath(page.resolve(), Path(link_base).resolve())).as_posix()
                                 if link_base is not None else page.resolve().as_uri())
        return out
