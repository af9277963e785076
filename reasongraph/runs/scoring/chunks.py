"""A chunk: consecutive records of one model at one temperature, extracted in one call."""
from __future__ import annotations

from dataclasses import dataclass

from reasongraph.runs.records.record import Record

__all__ = ["CHUNK_CHARS", "Chunk"]


DEFAULT_CHUNK = 16  # records per extract_batch call when batch_size is None
CHUNK_CHARS = 32_768  # ... or fewer, once a chunk holds this many characters of text and prompt


@dataclass(frozen=True)
class Chunk:
    """Consecutive records of one model at one temperature, extracted together in one extract_batch call."""

    unit: str
    temperature: float
    records: list[Record]
