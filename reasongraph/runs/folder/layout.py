"""The read side of a run folder written by :func:`reasongraph.score_dataset`: :class:`ScoredRun`.

A run folder is the one place where scoring leaves its results, and this module is the one place that knows its
layout (:class:`RunLayout`): the write side, :class:`reasongraph.runs.folder.writer.RunStore`, takes its paths from here
too. Reports, ``compare`` and ``html`` read a run only through :class:`ScoredRun`, which hands them plain
values: rows, options, the fit, the clusterer, and analyses rebuilt from the trace cache without the model.

Layout of a run folder ``DIR``::

    manifest.json    the options the run was started with (its identity; a rerun with others is refused)
    rows.jsonl       one JSON line per scored record; rows.parquet, the same rows typed, once the run ends
    errors.jsonl     one JSON line per record that could not be scored
    models.json      the identity of each model that scored records (so a resume need not load a model)
    fit.json         how each clustering and the pooled forking thresholds were fitted
    clusterer.npz    the clustering (one model; with several, clusterer-<i>.npz, named in fit.json)
    summary.json     per-group summaries, written when the run ends
    diversity.jsonl  with a sample group: one row per prompt, the diversity of its samples
    traces/          the extraction cache (unless cache_dir put it elsewhere)
    html/            optional per-trace pages, <id>.html, linked from the report
    .lock            held by the one process writing the run
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunLayout", "page_name"]


@dataclass(frozen=True)
class RunLayout:
    """The paths of a run folder."""

    dir: Path

    @property
    def manifest(self) -> Path:
        return self.dir / "manifest.json"

    @property
    def rows(self) -> Path:
        return self.dir / "rows.jsonl"

    @property
    def rows_parquet(self) -> Path:
        return self.dir / "rows.parquet"

    @property
    def errors(self) -> Path:
        return self.dir / "errors.jsonl"

    @property
    def fit(self) -> Path:
        return self.dir / "fit.json"

    @property
    def models(self) -> Path:
        return self.dir / "models.json"

    @property
    def summary(self) -> Path:
        return self.dir / "summary.json"

    @property
    def diversity(self) -> Path:
        return self.dir / "diversity.jsonl"

    @property
    def traces(self) -> Path:
        return self.dir / "traces"

    @property
    def pages(self) -> Path:
        return self.dir / "html"

    @property
    def lock(self) -> Path:
        return self.dir / ".lock"


def page_name(record_id: str) -> str:
    """A record id as a file name, the convention for per-trace pages ``html/<id>.html``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", record_id)[:120] or "_"
