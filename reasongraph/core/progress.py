"""Progress of long runs on stderr: a live bar on a terminal, plain periodic log lines anywhere else.

On a TTY the bar redraws in place (at most ten times a second) with records (or another unit) done, records/s,
tokens/s and the ETA. Redirected to a file or a CI log, a carriage-return bar would be noise, so the same numbers are
written as one line when the stage starts, after its first item, every ``interval`` seconds, and once at the end.

The ETA comes from the work left rather than the records left when the stage knows its total work (characters of
text, say): records vary a hundredfold in length, and the time a model takes follows their length.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO

_BAR_WIDTH = 24
_TTY_REFRESH_S = 0.1


def format_duration(seconds: float) -> str:
    """``3725.2 -> "1:02:05"``; ``"?"`` when unknown."""
    if seconds != seconds or seconds in (float("inf"), float("-inf")) or seconds < 0:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """Count records (and tokens) through one stage of a run and report the rates.

    Parameters
    ----------
    total : records expected in this stage (None: unknown, no ETA).
    desc : a short name of the stage, e.g. ``"extract"``.
    stream : where to write; default ``sys.stderr``.
    tty : draw a live bar; default ``stream.isatty()``.
    interval : seconds between log lines when not on a TTY.
    enabled : False writes nothing (``--quiet``).
    clock : a monotonic clock (injectable for tests).
    total_work : the stage's work in any unit (e.g. characters); given, the ETA is the work left over the rate of
        work done, each record's share passed as ``work`` to :meth:`update` and :meth:`skip`.
    unit : what is counted, in the plural (default ``"records"``; ``"samples"`` for generation).

    Records already done by an earlier run are counted with :meth:`skip`: they advance the count but not the
    rates, so the ETA of a resumed run is honest.
    """

    def __init__(self, total: int | None = None, desc: str = "", stream: IO[str] | None = None,
                 tty: bool | None = None, interval: float = 30.0, enabled: bool = True,
                 clock: Callable[[], float] = time.monotonic, total_work: float | None = None,
                 unit: str = "records") -> None:
        self.total = total
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(tty if tty is not None else getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval
        self.enabled = enabled
        self.unit = unit
        self._clock = clock
        self.total_work = total_work
        self.n = 0
        self.n_skipped = 0
        self.tokens = 0
        self.work = 0.0
        self.work_skipped = 0.0
        self._start = clock()
        self._last_draw = float("-inf")
        self._closed = False
        if not self.tty:
            self._maybe_draw(force=True)  # a log reader sees at once that the stage started

    # ------------------------------------------------------------------ counting
    def skip(self, n: int = 1, work: float = 0) -> None:
        """Count ``n`` records done by an earlier run (no effect on the rates)."""
        self.n += n
        self.n_skipped += n
        self.work_skipped += work
        self._maybe_draw()

    def update(self, n: int = 1, tokens: int = 0, work: float = 0) -> None:
        """Count ``n`` records processed now, holding ``tokens`` tokens and ``work`` units of work in all."""
        first = self.n == self.n_skipped
        self.n += n
        self.tokens += tokens
        self.work += work
        self._maybe_draw(force=first and not self.tty)

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start

    def rates(self) -> tuple[float, float, float]:
        """(records/s, tokens/s, ETA seconds) over the records processed in this run."""
        elapsed = self.elapsed
        done_now = self.n - self.n_skipped
        rps = done_now / elapsed if elapsed > 0 else 0.0
        tps = self.tokens / elapsed if elapsed > 0 else 0.0
        eta = float("nan")
        if self.total_work and self.work > 0 and elapsed > 0:
            eta = max(0.0, self.total_work - self.work - self.work_skipped) / (self.work / elapsed)
        elif self.total is not None and rps > 0:
            eta = (self.total - self.n) / rps
        return rps, tps, eta

    # ------------------------------------------------------------------ drawing
    def text(self) -> str:
        """The status as one line (without the bar)."""
        count = f"{self.n}/{self.total}" if self.total is not None else f"{self.n}"
        pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        head = f"{self.desc}: {count} {self.unit}{pct}"
        if self.n == self.n_skipped:  # nothing processed in this run yet: no rate to speak of
            resumed = f", {self.n_skipped} done before" if self.n_skipped else ""
            return f"{head}{resumed}, starting, elapsed {format_duration(self.elapsed)}"
        rps, tps, eta = self.rates()
        eta_s = f", ETA {format_duration(eta)}" if self.total is not None and self.n < self.total else ""
        return (f"{head}, {rps:.2f} {self.unit}/s, {tps:.0f} tokens/s{eta_s}, "
                f"elapsed {format_duration(self.elapsed)}")

    def _bar(self) -> str:
        if not self.total:
            return ""
        filled = min(_BAR_WIDTH, int(_BAR_WIDTH * self.n / self.total))
        return "[" + "#" * filled + "." * (_BAR_WIDTH - filled) + "] "

    def _maybe_draw(self, force: bool = False) -> None:
        if not self.enabled or self._closed:
            return
        now = self._clock()
        wait = _TTY_REFRESH_S if self.tty else self.interval
        if not force and now - self._last_draw < wait:
            return
        self._last_draw = now
        if self.tty:
            self.stream.write("\r\x1b[K" + self._bar() + self.text())
        else:
            self.stream.write("reasongraph " + self.text() + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Draw the final state (and end the bar's line)."""
        if self._closed:
            return
        self._maybe_draw(force=True)
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
        self._closed = True

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
