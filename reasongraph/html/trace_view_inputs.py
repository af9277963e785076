"""Plain values of one trace's view checked and shaped: rows, masks, tuples, cells."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from reasongraph.core.errors import InputError


# ---------------------------------------------------------------------------------------------- coercion
def int_rows(arr: Any, name: str) -> np.ndarray:
    a = np.asarray(arr)
    if a.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if a.ndim != 2 or a.shape[1] != 2:
        raise InputError(f"{name} must be an (n, 2) array of spans, got shape {a.shape}")
    return a.astype(np.int64)


def bool_mask(mask: Any, n: int, name: str) -> np.ndarray:
    if mask is None:
        return np.zeros(n, dtype=bool)
    m = np.asarray(mask).reshape(-1)
    if m.shape != (n,):
        raise InputError(f"{name} must be a mask of length {n}, got shape {m.shape}")
    return m.astype(bool)


def step_table(steps: Sequence[Any]) -> np.ndarray:
    """(n_steps, 4) int: start_token, end_token, start_char, end_char."""
    rows = []
    for s in steps:
        if isinstance(s, Mapping):
            rows.append((s["start_token"], s["end_token"], s["start_char"], s["end_char"]))
        elif hasattr(s, "start_token"):
            rows.append((s.start_token, s.end_token, s.start_char, s.end_char))
        else:
            rows.append(tuple(s)[:4])
    table = np.array(rows, dtype=np.int64).reshape(-1, 4)
    if table.size and (table.min() < 0 or np.any(table[:, 1] < table[:, 0]) or np.any(table[:, 3] < table[:, 2])):
        raise InputError("steps must have spans with 0 <= start <= end")
    return table


def revisit_tuple(r: Any) -> tuple[int, Any, int]:
    """(step, node, steps_since_last_visit) of a Revisit, a dict, or such a tuple."""
    if isinstance(r, tuple):
        return int(r[0]), r[1], int(r[2])
    if isinstance(r, Mapping):
        return int(r["step"]), r["node"], int(r["steps_since_last_visit"])
    return int(r.step), r.node, int(r.steps_since_last_visit)


def marker_tuple(m: Any) -> tuple[int, int, str]:
    if isinstance(m, Mapping):
        return int(m["start_char"]), int(m["end_char"]), str(m["text"])
    return int(m.start_char), int(m.end_char), str(m.text)


def node_key(node: Any) -> Any:
    """Node ids as JSON values: numpy integers become int, anything not a plain scalar becomes str."""
    if isinstance(node, (bool, np.bool_)):
        return str(node)
    if isinstance(node, (int, np.integer)):
        return int(node)
    return str(node)


def table_cells(table: Any) -> list[list[int]]:
    t = np.asarray(table, dtype=np.int64)
    if t.shape != (2, 2):
        raise InputError(f"an alignment table must be 2x2, got shape {t.shape}")
    return t.tolist()
