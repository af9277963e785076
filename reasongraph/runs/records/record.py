"""One record of a dataset (:class:`Record`), and a scan of the whole input (:class:`Scan`)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any



@dataclass(frozen=True)
class Record:
    """One input record: what to score, or why it cannot be scored.

    Attributes
    ----------
    line : 1-based line where the record starts (JSONL, CSV) or 1-based row number (Parquet, saved dataset).
    id : the id field's value as a string, None when absent.
    text, prompt, group, pair, model, sample_group, policy : the named fields' values (group, pair, model,
        sample group and policy as strings); None when absent.
    temperature : the temperature the trace was sampled at (a positive number), when a field names it.
    error : None for a scoreable record, else a one-line reason.
    """

    line: int
    id: str | None = None
    text: str | None = None
    prompt: str | None = None
    group: str | None = None
    pair: str | None = None
    model: str | None = None
    sample_group: str | None = None
    temperature: float | None = None
    policy: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def size(self) -> int:
        """Characters of text and prompt: the unit of work progress is measured in (0 for a bad record)."""
        return len(self.text or "") + len(self.prompt or "")

    def where(self) -> str:
        """``"line 12 (id 'p3')"``: how messages name this record."""
        return f"line {self.line}" + (f" (id {self.id!r})" if self.id is not None else "")


@dataclass
class Scan:
    """What :meth:`RecordReader.scan` found: record and character counts, and the valid records per group
    (None: no group) and per model named in the data, in order of first appearance."""

    n_records: int = 0
    n_chars: int = 0
    groups: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)


def as_key(value: Any) -> str | None:
    """Ids, groups and pair keys as strings (1 and "1" pair up), None stays None."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def as_temperature(value: Any) -> float | None:
    """A sampling temperature: a finite number > 0 (numeric text as in CSV included), else None."""
    try:
        t = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        return None
    return t if math.isfinite(t) and t > 0 else None
