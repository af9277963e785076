"""A chunk: consecutive records of one model at one temperature, extracted in one call; :func:`chunks`, the one
place that forms them, for every engine."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from reasongraph.runs.records.record import Record

__all__ = ["CHUNK_CHARS", "Chunk", "chunks"]


DEFAULT_CHUNK = 16  # records per extract_batch call when batch_size is None
CHUNK_CHARS = 32_768  # ... or fewer, once a chunk holds this many characters of text and prompt


@dataclass(frozen=True)
class Chunk:
    """Consecutive records of one model at one temperature, extracted together in one extract_batch call."""

    unit: str
    temperature: float
    records: list[Record]


def chunks(records: Iterable[Record], unit: str, model_of: Callable[[Record], str],
           temperature_of: Callable[[Record], float], batch_size: int | None) -> Iterator[Chunk]:
    """The extraction chunks of one model's records (those of each temperature together), in order.

    A chunk is ``batch_size`` records (default 16) in a row, or fewer once it holds ``CHUNK_CHARS`` characters.
    The chunks depend only on the input, never on what is cached or done: padded batches change hidden states
    in the last bits, so a resumed run (on any engine) must batch exactly as an uninterrupted one would.
    """
    recs = [r for r in records if r.ok and model_of(r) == unit]
    for t in dict.fromkeys(temperature_of(r) for r in recs):
        chunk: list[Record] = []
        chars = 0
        for rec in (r for r in recs if temperature_of(r) == t):
            chunk.append(rec)
            chars += rec.size
            if len(chunk) >= (batch_size or DEFAULT_CHUNK) or chars >= CHUNK_CHARS:
                yield Chunk(unit, t, chunk)
                chunk, chars = [], 0
        if chunk:
            yield Chunk(unit, t, chunk)
