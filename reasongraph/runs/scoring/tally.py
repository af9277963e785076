"""A scoring pass's progress: each record counted once, what an earlier run did counted before the first line.

A resumed run knows at the start which records are done (failed before, or cached for pass 1; rowed or failed for
pass 2), so its first line says "6/10 records, 6 done before" rather than "0/10"; the forward passes inside a batch
count their tokens as they end, so a run of one batch moves before its records finish.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from reasongraph.core.progress import Progress
from reasongraph.runs.records.record import Record

if TYPE_CHECKING:
    from reasongraph.runs.scoring.state import RunState

__all__ = ["Tally", "extracted_before", "open_bar"]


def extracted_before(run: RunState) -> list[Record]:
    """The records pass 1 need not extract: failed in an earlier run, or with a trace in the cache.

    Only the caches of models whose identity is known (saved, or from a model loaded already) are looked at:
    asking another model's identity would load it now, next to the one loaded, and models load one at a time.
    Its cached records count when the pass reaches them."""
    before = [rec for rec in run.reader if rec.line in run.done]
    for unit in run.plan.units:
        if not run.knows_identity(unit):
            continue
        for chunk in run.chunks(unit):
            cache = run.cache(unit, chunk.temperature)
            keys, failed = run.pending(chunk)
            before += [rec for rec, key, f in zip(chunk.records, keys, failed) if not f and cache.has(key)]
    return before


def open_bar(run: RunState, desc: str, before: Iterable[Record]) -> Tally:
    """A :class:`Tally` on a new bar for one pass over ``run``'s records, ``before`` counted as done."""
    before = list(before)
    bar = Progress(run.total, desc, enabled=run.progress, total_work=run.total_chars, done=len(before),
                   done_work=sum(rec.size for rec in before))
    return Tally(bar, counted=(rec.line for rec in before))


class Tally:
    """Counts each record of one pass once on ``bar``, by its line, whichever path reaches it first.

    ``counted``: the lines the bar counted when it opened. A record whose forward pass reported its tokens
    (:meth:`passed`) adds only itself when it finishes.
    """

    def __init__(self, bar: Progress, *, counted: Iterable[int] = ()) -> None:
        self.bar = bar
        self.counted: set[int] = set(counted)
        self._passed: set[int] = set()

    def skip(self, rec: Record) -> None:
        """``rec`` needed no work now (done or cached before)."""
        if self._first(rec):
            self.bar.skip(work=rec.size)

    def finish(self, rec: Record, *, tokens: int = 0) -> None:
        """``rec`` is done now (a row, a trace, or an error), with ``tokens`` tokens processed."""
        if self._first(rec):
            if rec.line in self._passed:
                self.bar.update()
            else:
                self.bar.update(tokens=tokens, work=rec.size)

    def passed(self, recs: list[Record], tokens: list[int]) -> None:
        """A forward pass over ``recs`` ended (their traces are not finished yet): count its tokens and text."""
        new = [(rec, n) for rec, n in zip(recs, tokens)
               if rec.line not in self.counted and rec.line not in self._passed]
        self._passed.update(rec.line for rec, _ in new)
        if new:
            self.bar.advance(tokens=sum(n for _, n in new), work=sum(rec.size for rec, _ in new))

    def _first(self, rec: Record) -> bool:
        if rec.line in self.counted:
            return False
        self.counted.add(rec.line)
        return True

    def close(self) -> None:
        """End the pass's bar now (a pass that goes on under another bar); closing it again does nothing."""
        self.bar.close()

    def __enter__(self) -> Tally:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]
