"""The metric panels and the 2x2 alignment tables of one trace's view."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reasongraph.analysis import catalogue
from reasongraph.analysis.alignment.onset_relative import NEAR_SATURATED
from reasongraph.analysis.summary_text import odds_ratio_text
from reasongraph.core import metric
from reasongraph.core.display import fmt, fmt_p
from reasongraph.core.json_values import scalar
from reasongraph.html.trace_view_inputs import table_cells

__all__ = ["alignment_tables", "metric_groups"]


# ---------------------------------------------------------------------------------------------- public helpers
def metric_groups(metrics: Mapping[str, Any]) -> list[dict]:
    """The metrics panel: the catalogue's panels (:data:`reasongraph.core.metric.PANELS`) filled from ``metrics``,
    metrics without a value left out."""
    groups = []
    for key, title in metric.PANELS:
        items = [{"key": m.key, "label": m.label, "help": m.help, "value": scalar(metrics[m.key])}
                 for m in catalogue.panel(key) if m.key in metrics]
        if items:
            groups.append({"title": title, "items": items})
    return groups


def alignment_tables(alignment: Any) -> list[dict]:
    """The 2x2 tables of an :class:`~reasongraph.analysis.alignment.alignment.Alignment` as payload tables, with their
    statistics.

    Each table: ``title``, ``rows`` and ``cols`` (labels), ``cells`` (2x2 counts of steps), ``marks`` (cell ->
    short name, e.g. the hidden-only cell) and ``note`` (one line: odds ratio and Fisher's exact test).
    """
    spike = "onset spike" if alignment.rule == "onset" else "spike"
    rule = ("a step has an onset spike when the entropy that chose how it begins is a forking one"
            if alignment.rule == "onset" else "span rule: a forking token anywhere in the step; circular-shift "
            f"permutation p = {fmt_p(alignment.p_value)}")
    tables = [{
        "title": f"Revisits vs {spike}s (steps)",
        "rows": ["revisit", "no revisit"],
        "cols": [spike, f"no {spike}"],
        "cells": table_cells(alignment.table),
        "marks": {"0,1": "hidden-only", "1,0": "token-only"},
        "note": f"{_statistics(alignment.revisit_spike)}; {rule}",
    }]
    rate = alignment.spike_rate
    if rate == rate and rate > NEAR_SATURATED:  # rate == rate: not NaN
        tables[0]["flag"] = (f"near-saturated: {fmt(rate)} of the steps spike (above {NEAR_SATURATED}), so hidden-only "
                             "events are few by construction; read the onset-relative table beside it")
    relative = alignment.relative.revisit_spike if alignment.relative is not None else None
    if relative is not None:
        tables.append({"title": "Revisits vs onset-relative spikes (steps)", "rows": ["revisit", "no revisit"],
                       "cols": ["top onset", "other onset"], "cells": table_cells(relative.table),
                       "marks": {"0,1": "hidden-only"},
                       "note": f"{_statistics(relative)}; the ceil(rho n) steps with the highest onset entropy "
                               "spike, so this rule cannot saturate: do revisits begin at the trace's more "
                               "uncertain decisions?"})
    if alignment.marker_revisit is not None:
        tables.append({"title": "Aha markers vs revisits (steps)", "rows": ["revisit", "no revisit"],
                       "cols": ["marker", "no marker"], "cells": table_cells(alignment.marker_revisit.table),
                       "marks": {}, "note": f"{_statistics(alignment.marker_revisit)}; \"cycles are aha moments\" "
                                            "predicts an odds ratio above 1"})
    if alignment.marker_spike is not None:
        tables.append({"title": f"Aha markers vs {spike}s (steps)", "rows": ["marker", "no marker"],
                       "cols": [spike, f"no {spike}"], "cells": table_cells(alignment.marker_spike.table),
                       "marks": {}, "note": f"{_statistics(alignment.marker_spike)}; does the model's own wording "
                                            "agree with its token entropy?"})
    return tables


def _statistics(t: Any) -> str:
    """The odds ratio with its exact interval and small-sample flag, as analyze's summary words it, and Fisher p."""
    return (f"odds ratio {odds_ratio_text(t.table, t.odds_ratio, t.odds_ratio_corrected)}, Fisher p = "
            f"{fmt_p(t.fisher_p)} (one-sided, OR > 1: {fmt_p(t.fisher_p_greater)})")
