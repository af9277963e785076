"""Pass 2 on this process: each record's cached trace labeled, measured and appended as a row."""
from __future__ import annotations

import time
from typing import Any

from reasongraph.core.progress import Progress
from reasongraph.runs.records.record import Record
from reasongraph.runs.scoring.pass1 import Pass1
from reasongraph.runs.scoring.row import row_head, score_trace, sweep_units


# ---------------------------------------------------------------------- pass 2: label, analyze, append rows
def _pass2(run: Pass1, clusterers: dict[str, Any], fit: dict) -> None:
    options = run.opts.analysis_options()
    with Progress(run.total, "pass 2/2 analyze", enabled=run.progress, total_work=run.total_chars) as bar:
        for rec in run.reader:
            if rec.line in run.done:
                bar.skip(work=rec.size)
                continue
            if not rec.ok:
                run.record_error(rec, rec.error)
                bar.update(work=rec.size)
                continue
            trace = run.cached_trace(rec)
            scored = trace is not None and score_record(run, rec, trace, clusterers, options=options, fit=fit)
            bar.update(tokens=trace.n_tokens if scored else 0, work=rec.size)


def score_record(run: Pass1, rec: Record, trace: Any, clusterers: dict[str, Any], *, options: dict,
                 fit: dict) -> bool:
    """Pass 2 of one record here, on the driver: its row appended (True), or its error written (False)."""
    unit, sweep = sweep_units(run, rec)
    t0 = time.perf_counter()
    try:
        row = score_trace(trace, row_head(run, rec), clusterers[unit],
                          [(clusterers[key], layer, spec) for key, layer, spec in sweep], options=options, fit=fit)
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as e:  # noqa: BLE001 - one record's failure is that record's error
        run.timing.analyze_s += time.perf_counter() - t0
        run.record_error(rec, f"analysis failed: {run.reason(e)}", e)
        return False
    run.timing.analyze_s += time.perf_counter() - t0
    run.add_row(rec, row, trace.n_tokens)
    return True
