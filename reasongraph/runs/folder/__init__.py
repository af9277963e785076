"""The read side of a run folder written by :func:`reasongraph.score_dataset`: :class:`ScoredRun`.

The layout (:mod:`.layout`), the read side (:mod:`.reader`), the write side (:mod:`.writer`), the report
(:mod:`.report`) and the rows as Parquet (:mod:`.rows_parquet`).
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "page_name": "reasongraph.runs.folder.layout",
    "run_report_html": "reasongraph.runs.folder.report",
    "RunLayout": "reasongraph.runs.folder.layout",
    "RunStore": "reasongraph.runs.folder.writer",
    "ScoredRun": "reasongraph.runs.folder.reader",
    "write_rows_parquet": "reasongraph.runs.folder.rows_parquet",
    "write_run_report": "reasongraph.runs.folder.report",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
