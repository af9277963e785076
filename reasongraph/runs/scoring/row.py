"""Pass 2 of a scoring run for one record: label its cached trace, compute every metric, build its row.

The local engine (:mod:`reasongraph.runs.scoring.score`) and the Ray engine's workers
(:mod:`reasongraph.runs.engines.ray`) both build rows with :func:`score_trace`, from plain values (the trace, its
clusterers, the fit and the row's head, which the driver fills from the record), so both engines write the same
rows.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from reasongraph.core.json_values import json_value
from reasongraph.runs.records.record import Record
from reasongraph.runs.scoring.state import RunState

__all__ = ["extraction_kind", "layer_column_units", "row_head", "score_trace"]


def row_head(run: RunState, rec: Record) -> dict:
    """The first fields of a record's row: its identity, the model and temperature that scored it, and the
    trace's cache key."""
    return {"line": rec.line, "id": rec.id, "group": rec.group, "pair": rec.pair,
            "scored_by": run.plan.name_of(rec), "scored_at": run.temperature(rec),
            "on_policy": _on_policy(rec, run), "trace_key": run.cache_key(rec)}


def layer_column_units(run: RunState, rec: Record) -> tuple[str, list[tuple[str, int, str]]]:
    """(the clustering unit of ``rec``'s steps, [(unit, layer index, layer spec) of each further layer, whose
    metrics become the row's layer columns "<name>@<layer spec>"]): which clusterers :func:`score_trace` takes
    for ``rec``."""
    units = run.layer_units(rec)
    return units[0][0], units[1:]


def score_trace(trace: Any, head: dict, clusterer: Any, layer_columns: list[tuple[Any, int, str]], *,
                options: dict, fit: dict) -> dict:
    """One output row: ``head``, which pass gave the trace (``extraction``: "sampled" or "teacher_forced"), token
    counts, every metric of :func:`~reasongraph.analysis.one_trace.analyze_trace`, the
    layer columns (each further layer labeled by its own clusterer, its metrics as "name@layer"), and the pooled
    forking shares against the fit's thresholds.

    ``layer_columns``: (clusterer, layer index, layer spec) per further layer; ``options``: analyze_trace's keyword
    arguments; ``fit``: the run's fit.json. JSON-ready values throughout.
    """
    from reasongraph.analysis.one_trace import analyze_trace, layer_metrics

    metrics = dict(analyze_trace(trace, clusterer, **options).metrics)
    for clu, layer, spec in layer_columns:
        labels = clu.predict(trace.step_vectors(layer))
        metrics.update({f"{k}@{spec}": v for k, v in layer_metrics(trace, labels, layer).items()})
    row: dict[str, Any] = {**head, "extraction": extraction_kind(trace), "n_prompt_tokens": int(trace.prompt_len),
                           "n_tokens_dropped": int(trace.meta.get("tokens_dropped", 0))}
    row.update(metrics)
    h = np.asarray(trace.entropy, dtype=np.float64)
    h = h[np.isfinite(h)]
    share = _share_above(h, fit["forking_rule"])
    row["forking_share_pooled"] = share(fit["forking_threshold"])
    row["forking_share_by_group"] = {g: share(t) for g, t in fit["forking_threshold_by_group"].items()}
    return {k: json_value(v) for k, v in row.items()}


def extraction_kind(trace: Any) -> str:
    """"sampled" for a trace recorded while it was sampled (:mod:`reasongraph.trace.sampling.recorded`), else
    "teacher_forced": which pass gave a row its numbers."""
    return "sampled" if trace.meta.get("recorded") == "sampling" else "teacher_forced"


def _on_policy(rec: Record, run: RunState) -> bool | None:
    """Whether ``rec`` was scored by the model and at the temperature that sampled it (None: the data does not
    say, which takes both a policy and a temperature field)."""
    fields = run.reader.fields
    if not (fields.get("policy") and fields.get("temperature")):
        return None
    return rec.policy == run.plan.name_of(rec)


def _share_above(h: np.ndarray, rule: str):
    def share(threshold: float | None) -> float:
        if not h.size or threshold is None or math.isnan(threshold):
            return math.nan
        return float(np.mean(h > threshold) if rule == ">" else np.mean(h >= threshold))
    return share
