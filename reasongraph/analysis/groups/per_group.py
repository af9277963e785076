"""Scored rows summarized per group: n, mean, median and bootstrap CI of each metric, and the detection ratio.

The rows are the source of truth: these functions take row dicts (as in rows.jsonl) and nothing else, so the
same numbers come out of a run's summary.json, ``reasongraph compare`` and the HTML report.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from reasongraph.analysis.groups.options import CompareOptions
from reasongraph.core.options import CI, N_BOOT, SEED
from reasongraph.stats.bootstrap import bootstrap_ci, wilson_interval

__all__ = ["FEWER_THAN_2", "ID_KEYS", "ON_POLICY", "pair_means", "MetricSummary", "column", "detection", "group_of",
           "layer_table", "numeric", "numeric_metrics", "summarize", "summarize_values"]

# Fields of a row that identify it rather than measure it.
ID_KEYS = frozenset({"line", "id", "group", "pair", "trace_key", "scored_at", "on_policy"})

#: The note of a paired statistic that cannot be computed.
FEWER_THAN_2 = "fewer than 2 pairs"

#: The mode of a comparison whose every trace was scored by the model, at the temperature, that sampled it.
ON_POLICY = "faithful (on-policy: each trace scored by the model and temperature that sampled it)"


def numeric(value) -> float | None:
    """A row value as a float (bools as 0/1), None when not numeric."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return None


def column(rows: Sequence[dict], name: str) -> np.ndarray:
    """One field of the rows as float64, NaN where missing or not numeric."""
    vals = [numeric(r.get(name)) for r in rows]
    return np.array([math.nan if v is None else v for v in vals], dtype=np.float64)


def numeric_metrics(rows: Iterable[dict]) -> list[str]:
    """Names of the numeric fields of ``rows`` (not the identifying ones), in first-seen order."""
    names: dict[str, None] = {}
    for row in rows:
        for k, v in row.items():
            if k not in ID_KEYS and k not in names and numeric(v) is not None:
                names[k] = None
    return list(names)


def group_of(row: dict, *, group_field: str | None = CompareOptions.group_field) -> str:
    """The group a row belongs to, as a string ("all" without a grouping)."""
    return "all" if group_field is None else str(row.get(group_field))


def pair_means(rows: Sequence[dict], pair_field: str, metrics: Sequence[str]) -> dict[str, np.ndarray]:
    """Per pair value, the mean of each metric over that pair's rows (NaN-aware; NaN when none is finite).

    Several samples of one problem thus count once in a paired comparison.
    """
    by_key: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r.get(pair_field) is not None:
            by_key[str(r[pair_field])].append(r)
    out = {}
    for k, members in by_key.items():
        cols = np.array([column(members, m) for m in metrics]).reshape(len(metrics), len(members))
        finite = np.isfinite(cols)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[k] = np.where(finite.any(axis=1), np.where(finite, cols, 0).sum(axis=1) / finite.sum(axis=1),
                              np.nan)
    return out


def detection(rows: Sequence[dict]) -> tuple[int, int]:
    """(rows with a loop, rows with a defined loop_exists): the detection ratio of the paper is k / n."""
    x = column(rows, "loop_exists")
    x = x[np.isfinite(x)]
    return int(x.sum()), int(x.size)


@dataclass
class MetricSummary:
    """One metric over one group: finite values only (``n`` counts them)."""

    n: int
    mean: float
    median: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict:
        return asdict(self)


def summarize_values(x: Sequence[float] | np.ndarray, *, n_boot: int = N_BOOT.default, ci: float = CI.default,
                     seed: int = SEED.default) -> MetricSummary:
    """n, mean, median and bootstrap CI of the mean of the finite values of ``x``."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return MetricSummary(0, math.nan, math.nan, math.nan, math.nan)
    lo, hi = bootstrap_ci(x, n_boot=n_boot, ci=ci, seed=seed)
    return MetricSummary(int(x.size), float(x.mean()), float(np.median(x)), lo, hi)


def summarize(rows: Iterable[dict], *, group_key: str | None = "group", metrics: Sequence[str] | None = None,
              n_boot: int = N_BOOT.default, ci: float = CI.default, seed: int = SEED.default) -> dict[str, dict]:
    """Per-group summary of scored rows.

    Parameters
    ----------
    rows : dicts as in rows.jsonl.
    group_key : the field to group by; None puts every row in one group ``"all"``. Rows without the field go
        to the group ``"None"``.
    metrics : fields to summarize; default every numeric field.
    n_boot, ci, seed : see :func:`reasongraph.stats.bootstrap.bootstrap_ci` (one seed for every metric, so the same
        resamples are used).

    Returns
    -------
    ``{group: {"n": rows, "detection_ratio": share of rows with loop_exists (None without that field),
    "metrics": {name: MetricSummary.as_dict()}}}``, groups in sorted order.
    """
    rows = list(rows)
    names = list(metrics) if metrics is not None else numeric_metrics(rows)
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[group_of(row, group_field=group_key)].append(row)
    out = {}
    for g in sorted(groups):
        members = groups[g]
        k, n = detection(members)
        out[g] = {
            "n": len(members),
            "detection_ratio": k / n if n else None,
            "metrics": {m: summarize_values(column(members, m), n_boot=n_boot, ci=ci, seed=seed).as_dict()
                        for m in names},
        }
    return out


def layer_table(rows: Sequence[dict], layers: Sequence[str], *, group_key: str | None = "group",
                metrics: Sequence[str] = ("revisits_per_step", "n_revisits", "erank_window"),
                n_boot: int = N_BOOT.default, seed: int = SEED.default) -> dict[str, dict]:
    """The layer columns per group: for each layer spec, the detection ratio (with its Wilson CI) and the summaries
    of a few metrics; the first layer's metrics are the rows' plain ones, the others' carry "@<spec>".

    Returns ``{layer spec: {group: {"n", "detection_ratio", "detection_ci", "metrics": {name: MetricSummary}}}}``:
    the paper's detection ratio by layer ratio.
    """
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[group_of(row, group_field=group_key)].append(row)
    out: dict[str, dict] = {}
    for i, spec in enumerate(layers):
        suffix = "" if i == 0 else f"@{spec}"
        out[spec] = {}
        for g in sorted(groups):
            members = groups[g]
            loops = column(members, f"loop_exists{suffix}")
            loops = loops[np.isfinite(loops)]
            k, n = int(loops.sum()), int(loops.size)
            out[spec][g] = {"n": n, "detection_ratio": k / n if n else None,
                            "detection_ci": list(wilson_interval(k, n)),
                            "metrics": {m: summarize_values(column(members, m + suffix), n_boot=n_boot, ci=0.95,
                                                            seed=seed).as_dict() for m in metrics}}
    return out
