"""The walk of a trace's step labels: its runs, its revisits, the edges that close a revisit's cycle and each step's
mean entropy."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from reasongraph.core.errors import InputError, opt

__all__ = ["EDGE_WEIGHTS", "Revisit", "revisit_cycle_edges", "step_mean_entropy", "walk_runs"]


#: Rules for an edge's weight over its repeated transitions: the released code's ("min", default) and "mean".
EDGE_WEIGHTS = ("min", "mean")


@dataclass(frozen=True)
class Revisit:
    """One revisit event: step ``step`` enters ``node`` again after at least one other node in between.

    ``steps_since_last_visit`` is ``step`` minus the last step index at which ``node`` was visited.
    ``start_token`` / ``end_token`` give the step's token span [start, end) when known (built from a Trace).
    """

    step: int
    node: int
    steps_since_last_visit: int
    start_token: int | None = None
    end_token: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Runs:
    """Maximal runs of the kept walk: run r is cluster ``label[r]`` over original steps first[r]..last[r]."""

    label: np.ndarray
    first: np.ndarray
    last: np.ndarray


def walk_runs(walk) -> list[tuple[int, int, int]]:
    """Maximal runs of one label in a walk, as (label, first step, last step), negative labels skipped.

    Dropped steps do not split a run: [0, -1, 0] is one run of 0 over steps 0..2.

    >>> walk_runs([0, 0, 1, -1, 1, 0])
    [(0, 0, 1), (1, 2, 4), (0, 5, 5)]
    """
    runs = run_table(check_walk(walk))
    return [(int(a), int(b), int(c)) for a, b, c in zip(runs.label, runs.first, runs.last)]


def check_walk(walk) -> np.ndarray:
    arr = as_array(walk, "walk")
    if arr.ndim != 1:
        raise InputError(f"{opt('walk')} must be 1-D (one cluster id per step), got shape {arr.shape}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind in "iuf" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)) and \
            np.all(np.abs(arr.astype(np.float64)) < 2**62):  # ids beyond int64 would wrap around
        return arr.astype(np.int64)
    raise InputError(f"{opt('walk')} must hold integer cluster ids (negative = dropped step), got dtype {arr.dtype}")


def run_table(walk: np.ndarray) -> _Runs:
    kept = np.flatnonzero(walk >= 0)
    labels = walk[kept]
    change = labels[1:] != labels[:-1]
    starts = np.r_[True, change] if labels.size else np.zeros(0, dtype=bool)
    ends = np.r_[change, True] if labels.size else np.zeros(0, dtype=bool)
    return _Runs(labels[starts], kept[starts], kept[ends])


def walk_revisits(runs: _Runs, spans: np.ndarray | None) -> list[Revisit]:
    """Every run of a node after its first one starts a revisit event."""
    last_seen: dict[int, int] = {}
    out = []
    for label, first, last in zip(runs.label.tolist(), runs.first.tolist(), runs.last.tolist()):
        if label in last_seen:
            start, end = (int(spans[first, 0]), int(spans[first, 1])) if spans is not None else (None, None)
            out.append(Revisit(first, label, first - last_seen[label], start, end))
        last_seen[label] = last
    return out


def node_order(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cluster ids in order of first visit, and the node index (position in that order) of each label."""
    uniq, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return uniq[order], rank[inverse.ravel()]


def revisit_cycle_edges(walk, revisits) -> dict[tuple[int, int], int]:
    """The edges a walk took on its way back to a revisited node, each with the revisits it closes.

    A revisit at step s into node n closes the cycle that runs from n's last visit (step s -
    ``steps_since_last_visit``) to s: every edge of that stretch is on a revisit cycle, and the last one, into n,
    closes it. Returns {(cluster id, cluster id): revisits closed (0 for an edge that only lies on the way)}.

    Parameters
    ----------
    walk : (n_steps,) cluster id per step (negative: dropped).
    revisits : :class:`Revisit` events of that walk (or objects with ``step`` and ``steps_since_last_visit``).
    """
    walk = check_walk(walk)
    kept = np.flatnonzero(walk >= 0)
    out: dict[tuple[int, int], int] = {}
    for r in revisits:
        step, gap = ((r["step"], r["steps_since_last_visit"]) if isinstance(r, Mapping)
                     else (r.step, r.steps_since_last_visit))
        path = walk[kept[(kept >= step - gap) & (kept <= step)]].tolist()
        moves = [(a, b) for a, b in zip(path[:-1], path[1:]) if a != b]
        for edge in moves:
            out.setdefault(edge, 0)
        if moves:
            out[moves[-1]] += 1
    return out


def step_mean_entropy(entropy: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """NaN-aware mean token entropy over each step's token span (NaN for an empty or all-NaN span)."""
    out = np.full(len(spans), np.nan)
    for i, (a, b) in enumerate(spans):
        vals = entropy[a:b]
        vals = vals[np.isfinite(vals)]
        if vals.size:
            out[i] = vals.mean()
    return out


def as_array(value, name: str) -> np.ndarray:
    """``np.asarray(value)``, with what numpy cannot convert (ragged lists) an InputError naming ``name``."""
    try:
        return np.asarray(value)
    except (TypeError, ValueError, OverflowError) as e:
        raise InputError(f"{opt(name)} must be a numeric array ({e})") from None
