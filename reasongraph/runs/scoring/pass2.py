"""Pass 2 of a scoring run: the one loop that writes a row or an error per record, whichever engine scored it.

:func:`score_rows` takes the engine's results in input order (:class:`~reasongraph.runs.engines.protocol.Row`,
``Failed`` or ``Missing``: the cached trace is gone, so it is extracted and scored here), writes them, and counts
each record once on the pass's progress. :func:`score_here` is one record's pass 2 in this process.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from reasongraph.runs.engines.protocol import Failed, Missing, Row, Scored
from reasongraph.runs.records.record import Record
from reasongraph.runs.scoring.extract_here import LocalExtractor
from reasongraph.runs.scoring.row import layer_column_units, row_head, score_trace
from reasongraph.runs.scoring.state import RunState
from reasongraph.runs.scoring.tally import open_bar

__all__ = ["score_here", "score_rows"]


def score_rows(state: RunState, results: Iterator[tuple[Record, Scored]], here: LocalExtractor, *,
               clusterers: dict[str, Any], fit: dict) -> None:
    """Write every record's pass-2 outcome in input order: the unreadable ones' errors, and for each other record
    not done the engine's result (a ``Missing`` trace extracted and scored here). ``results``: the engine's
    iterator, started only once the pass's progress is open."""
    with open_bar(state, "pass 2/2 analyze", [rec for rec in state.reader if rec.line in state.done]) as tally:
        for rec in state.reader:
            if rec.line in tally.counted:
                continue
            if not rec.ok:
                state.record_error(rec, rec.error)
                tally.finish(rec)
                continue
            got, result = next(results, (None, None))
            if got is None or got.line != rec.line:
                raise RuntimeError(f"the engine's pass-2 results must come one per record in input order: line "
                                   f"{rec.line} got {'none' if got is None else f'line {got.line}'}")
            if isinstance(result, Missing):
                trace = here.cached_trace(rec)
                if trace is None:
                    tally.finish(rec)
                    continue
                result = score_here(state, rec, trace, clusterers, fit=fit)
            tally.finish(rec, tokens=_take(state, rec, result))
        if next(results, None) is not None:  # ends the engine's iterator: its bookkeeping (timing) runs there
            raise RuntimeError("the engine gave more pass-2 results than records to score")


def _take(state: RunState, rec: Record, result: Row | Failed) -> int:
    """Write one record's row or error; the number of tokens scored."""
    state.timing.analyze_s += result.seconds
    if isinstance(result, Failed):
        state.record_error(rec, result.reason, exc=result.exc)
        return 0
    state.add_row(rec, result.row, result.n_tokens)
    return result.n_tokens


def score_here(state: RunState, rec: Record, trace: Any, clusterers: dict[str, Any], *, fit: dict) -> Row | Failed:
    """Pass 2 of one record in this process: its row, or why it failed."""
    unit, columns = layer_column_units(state, rec)
    t0 = time.perf_counter()
    try:
        row = score_trace(trace, row_head(state, rec), clusterers[unit],
                          [(clusterers[key], layer, spec) for key, layer, spec in columns],
                          options=state.opts.analysis_options(), fit=fit)
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as e:  # noqa: BLE001 - one record's failure is that record's error
        return Failed(f"analysis failed: {state.reason(e)}", e, time.perf_counter() - t0)
    return Row(row, trace.n_tokens, time.perf_counter() - t0)
