"""What a table of per-trace means would hide: traces too short for a graph, and a measure undefined in most rows.

A trace of one step has a walk but no graph to speak of (one node, no edge): its cycle counts are 0 and its shape
measures n/a, and a group mean would silently count it. ``small_world`` is undefined (NaN) wherever its random
baseline is (one node, or a mean degree <= 1), and exactly 0 wherever the graph has no triangle, so a column of
zeros is no finding. The notes here name both, with counts, under the tables of ``score`` and ``compare``.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["SHOWN_IDS", "caveat_notes", "short_traces", "small_world_note"]

#: How many ids of short traces a note names.
SHOWN_IDS = 5


def short_traces(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows of traces with exactly one step: too short for a graph (empty responses, of no step, are counted
    apart as ``n_empty``)."""
    return [r for r in rows if r.get("n_steps") == 1]


def _name(row: Mapping[str, Any]) -> str:
    return str(row.get("id") if row.get("id") is not None else f"line {row.get('line')}")


def small_world_note(rows: Iterable[Mapping[str, Any]], *, key: str = "small_world_hops") -> str | None:
    """How many rows have ``key`` undefined (NaN) and how many 0 (no triangle); None when most rows have a
    positive value."""
    # None is how NaN comes back from strict JSON or Parquet: undefined too
    values = [math.nan if r[key] is None else r[key] for r in rows
              if key in r and (r[key] is None or isinstance(r[key], (int, float)))]
    if not values:
        return None
    undefined = sum(1 for v in values if math.isnan(v))
    zero = sum(1 for v in values if v == 0)
    if undefined + zero <= len(values) / 2:
        return None
    return (f"{key}: undefined in {undefined} of {len(values)} traces (one node, or a mean degree <= 1: no random "
            f"baseline to compare with) and 0 in {zero} (no triangle), so its means say little")


def caveat_notes(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The notes for a table of these rows: the traces too short for a graph (counted, the first named, and said
    to be part of n), and an undefined small-world."""
    rows = list(rows)
    notes = []
    short = short_traces(rows)
    if short:
        names = ", ".join(_name(r) for r in short[:SHOWN_IDS]) + (", ..." if len(short) > SHOWN_IDS else "")
        notes.append(f"{len(short)} of {len(rows)} traces have a single step, too short for a graph (no cycle can "
                     f"form; shape measures n/a), and are part of n: {names}")
    for key in ("small_world", "small_world_hops"):
        note = small_world_note(rows, key=key)
        if note:
            notes.append(note)
    return notes
