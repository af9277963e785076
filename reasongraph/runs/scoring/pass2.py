"""Pass 2 on this process: each record's cached trace labeled, measured and appended as a row."""
from __future__ import annotations

import time
from typing import Any

from reasongraph.runs.records.record import Record
from reasongraph.runs.scoring.pass1 import Pass1
from reasongraph.runs.scoring.row import row_head, score_trace, sweep_units
from reasongraph.runs.scoring.tally import open_bar


# ---------------------------------------------------------------------- pass 2: label, analyze, append rows
def _pass2(run: Pass1, clusterers: dict[str, Any], fit: dict) -> None:
    options = run.opts.analysis_options()
    with open_bar(run, "pass 2/2 analyze", [rec for rec in run.reader if rec.line in run.done]) as tally:
        for rec in run.reader:
            if rec.line in tally.counted:
                continue
            if not rec.ok:
                run.record_error(rec, rec.error)
                tally.finish(rec)
                continue
            trace = run.cached_trace(rec)
            scored = trace is not None and score_record(run, rec, trace, clusterers, options=options, fit=fit)
            tally.finish(rec, tokens=trace.n_tokens if scored else 0)


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
