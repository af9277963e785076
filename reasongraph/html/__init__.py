"""Self-contained interactive HTML: one trace's reasoning graph and text, and a dataset report.

Each page is one file with its scripts, stylesheet and data inline: no network request, opens from ``file://``,
fits in a paper's supplement. The graph layout is computed in Python (networkx), the page draws SVG with a
little hand-written JavaScript. This package renders plain values (an Analysis, rows, a comparison); reading a
run folder is :class:`reasongraph.runs.folder.reader.ScoredRun`'s job, and
:func:`reasongraph.runs.folder.report.write_run_report` makes the report of one.

>>> from reasongraph.html import write_trace_html
>>> write_trace_html(analysis, "trace.html")            # doctest: +SKIP
>>> from reasongraph.html import write_report_html
>>> write_report_html(rows, "report.html")              # doctest: +SKIP

Layer 6: pages from plain values; this package never reads a run folder.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "alignment_tables": "reasongraph.html.trace_view_tables",
    "asset": "reasongraph.html.document",
    "build_trace_payload": "reasongraph.html.trace_view",
    "ENTRIES": "reasongraph.html.document",
    "ENTROPY_BINS": "reasongraph.html.text_strip",
    "entropy_bins": "reasongraph.html.text_strip",
    "erank_curve": "reasongraph.html.trace_curves",
    "FLAG_AHA": "reasongraph.html.text_strip",
    "FLAG_FORK": "reasongraph.html.text_strip",
    "gap_length": "reasongraph.html.text_strip",
    "line_key": "reasongraph.html.report_view",
    "locus_html": "reasongraph.html.locus_view",
    "locus_payload": "reasongraph.html.locus_view",
    "MAX_CURVE_POINTS": "reasongraph.html.trace_curves",
    "metric_groups": "reasongraph.html.trace_view_tables",
    "most_cyclic_ids": "reasongraph.html.report_view",
    "most_cyclic_rows": "reasongraph.html.report_view",
    "new_root_id": "reasongraph.html.document",
    "PAYLOAD_VERSION": "reasongraph.html.trace_view",
    "render_view": "reasongraph.html.document",
    "report_html": "reasongraph.html.write",
    "report_payload": "reasongraph.html.report_view",
    "SCRIPTS": "reasongraph.html.document",
    "segments": "reasongraph.html.text_strip",
    "SERIES": "reasongraph.html.sweep_view",
    "smooth_entropy": "reasongraph.html.trace_curves",
    "sweep_html": "reasongraph.html.sweep_view",
    "sweep_payload": "reasongraph.html.sweep_view",
    "to_json": "reasongraph.html.document",
    "trace_html": "reasongraph.html.write",
    "trace_payload": "reasongraph.html.trace_view",
    "Utf16": "reasongraph.html.text_strip",
    "write_locus_html": "reasongraph.html.locus_view",
    "write_report_html": "reasongraph.html.write",
    "write_sweep_html": "reasongraph.html.sweep_view",
    "write_trace_html": "reasongraph.html.write",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
