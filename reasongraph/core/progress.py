"""Progress of long runs on stderr: a tqdm bar on a terminal, plain periodic log lines anywhere else.

The numbers are the stage's own, not tqdm's: tqdm draws the bar (in place, at most ten times a second), while the
rate and the ETA come from tokens. Records vary a hundredfold in length and a model's time follows their tokens, so
the ETA is the tokens left (the text left, at the tokens per character seen so far) over the tokens per second.
Records finish a batch at a time, but the forward passes inside a batch report their tokens as they end
(:meth:`Progress.advance`), so a run of one batch moves too. Redirected to a file or a CI log a carriage-return bar
would be noise, so the same numbers are written as one line when the stage starts, after the first work, every
``interval`` seconds, and once at the end.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, Any

_TTY_REFRESH_S = 0.1


def format_duration(seconds: float) -> str:
    """``3725.2 -> "1:02:05"``; ``"?"`` when unknown."""
    if seconds != seconds or seconds in (float("inf"), float("-inf")) or seconds < 0:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """Count records and tokens through one stage of a run and report the rates.

    Parameters
    ----------
    total : records expected in this stage (None: unknown, no ETA).
    desc : a short name of the stage, e.g. ``"extract"``.
    stream : where to write; default ``sys.stderr``.
    tty : draw a live bar; default ``stream.isatty()``.
    interval : seconds between log lines when not on a TTY.
    enabled : False writes nothing (``--quiet``).
    clock : a monotonic clock (injectable for tests).
    total_work : the stage's text in any unit (e.g. characters); given, the ETA is the tokens left (the work left
        at the tokens per unit of work seen so far) over the tokens per second, each record's share passed as
        ``work``. Without it, the ETA is the records left at the records per second.
    unit : what is counted, in the plural (default ``"records"``; ``"samples"`` for generation).
    done, done_work : records (and their work) done by an earlier run, known when the stage starts: the first
        line counts them. Those found later are counted with :meth:`skip`. Neither enters the rates.
    """

    def __init__(self, total: int | None = None, desc: str = "", stream: IO[str] | None = None,
                 tty: bool | None = None, interval: float = 30.0, enabled: bool = True,
                 clock: Callable[[], float] = time.monotonic, total_work: float | None = None,
                 unit: str = "records", done: int = 0, done_work: float = 0.0) -> None:
        self.total = total
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(tty if tty is not None else getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval
        self.enabled = enabled
        self.unit = unit
        self._clock = clock
        self.total_work = total_work
        self.n = self.n_skipped = done
        self.tokens = 0
        self.work = 0.0
        self.work_skipped = float(done_work)
        self._start = clock()
        self._last_draw = float("-inf")
        self._closed = False
        self._bar: Any = None
        if enabled and self.tty:
            self._bar = _tqdm_bar(total=total, initial=done, file=self.stream, desc=desc)
        self._maybe_draw(force=True)  # the stage has started, and says what an earlier run did

    # ------------------------------------------------------------------ counting
    def skip(self, n: int = 1, work: float = 0) -> None:
        """Count ``n`` records done by an earlier run (no effect on the rates)."""
        self.n += n
        self.n_skipped += n
        self.work_skipped += work
        self._maybe_draw()

    def advance(self, tokens: int = 0, work: float = 0) -> None:
        """Count the tokens (and work) of a forward pass inside a batch whose records are not finished yet."""
        first = not self.started
        self.tokens += tokens
        self.work += work
        self._maybe_draw(force=first)

    def update(self, n: int = 1, tokens: int = 0, work: float = 0) -> None:
        """Count ``n`` records finished now, with the ``tokens`` and ``work`` not counted by :meth:`advance`."""
        first = not self.started
        self.n += n
        self.tokens += tokens
        self.work += work
        self._maybe_draw(force=first)

    @property
    def started(self) -> bool:
        """Whether this run has done any work of its own yet (records or tokens)."""
        return self.n > self.n_skipped or self.tokens > 0 or self.work > 0

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start

    def rates(self) -> tuple[float, float, float]:
        """(records/s, tokens/s, ETA seconds) over the work done in this run."""
        elapsed = self.elapsed
        rps = (self.n - self.n_skipped) / elapsed if elapsed > 0 else 0.0
        tps = self.tokens / elapsed if elapsed > 0 else 0.0
        return rps, tps, self._eta(rps, tps)

    def tokens_left(self) -> float:
        """The tokens left, from the work left at the tokens per unit of work seen so far (nan if unknown)."""
        if not (self.total_work and self.work > 0 and self.tokens > 0):
            return float("nan")
        return max(0.0, self.total_work - self.work - self.work_skipped) * self.tokens / self.work

    def _eta(self, rps: float, tps: float) -> float:
        if self.total_work:
            left = self.tokens_left()
            return left / tps if tps > 0 and left == left else float("nan")
        if self.total is not None and rps > 0:
            return (self.total - self.n) / rps
        return float("nan")

    # ------------------------------------------------------------------ drawing
    def status(self) -> str:
        """What has been done and how fast, without the count: the part after the bar."""
        elapsed = f"elapsed {format_duration(self.elapsed)}"
        if not self.started:  # nothing processed in this run yet: no rate to speak of
            resumed = f"{self.n_skipped} done before, " if self.n_skipped else ""
            return f"{resumed}starting, {elapsed}"
        rps, tps, eta = self.rates()
        rate = f"{tps:,.0f} tokens/s" if self.tokens else f"{rps:.2f} {self.unit}/s"
        left = ""
        if self.total is not None and self.n < self.total:
            tokens_left = self.tokens_left()
            left = f", ETA {format_duration(eta)}"
            if tokens_left == tokens_left:
                left += f" (~{tokens_left:,.0f} tokens left)"
        return f"{self.tokens:,} tokens, {rate}{left}, {elapsed}"

    def text(self) -> str:
        """The status as one line: the stage, the count, then :meth:`status`."""
        count = f"{self.n}/{self.total}" if self.total is not None else f"{self.n}"
        pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        return f"{self.desc}: {count} {self.unit}{pct}, {self.status()}"

    def _maybe_draw(self, force: bool = False) -> None:
        if not self.enabled or self._closed:
            return
        now = self._clock()
        wait = _TTY_REFRESH_S if self.tty else self.interval
        if not force and now - self._last_draw < wait:
            return
        self._last_draw = now
        if self._bar is not None:
            self._bar.n = self.n
            self._bar.status = self.status()
            self._bar.refresh()
        else:
            self.stream.write("reasongraph " + self.text() + "\n")
            self.stream.flush()

    def close(self, interrupted: bool = False) -> None:
        """Draw the final state (unless ``interrupted``: the caller says what happened) and end the bar."""
        if self._closed:
            return
        if not interrupted:
            self._maybe_draw(force=True)
        if self._bar is not None:
            self._bar.close()
        self._closed = True

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        self.close(interrupted=exc_type is not None and issubclass(exc_type, KeyboardInterrupt))


def _tqdm_bar(**kwargs: Any) -> Any:
    """A tqdm bar whose line ends with our status (tokens, tokens/s, the ETA from tokens) rather than tqdm's own
    record rate and ETA: a ``status`` field in its format (tqdm's postfix would add a comma)."""
    from tqdm import tqdm

    class Bar(tqdm):  # type: ignore[misc, valid-type]
        status = ""

        @property
        def format_dict(self) -> dict:
            return {**super().format_dict, "status": self.status}

    return Bar(bar_format="{desc}: {n_fmt}/{total_fmt} |{bar:24}| {status}", leave=True, mininterval=0,
               miniters=0, dynamic_ncols=True, **kwargs)
