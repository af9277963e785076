"""One probe measurement (:class:`Measurement`) and the summary of a prompt's samples."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from reasongraph.analysis.samples.diversity import distinct_walk_share
from reasongraph.stats.entropy_dynamics import sample_covariance

__all__ = ["METRICS", "Measurement"]


#: The summary of one measurement, in the order tables print it.
METRICS = ("H_mean", "H_low_share", "forking_share_ref", "erank_window", "erv", "revisits_per_step",
           "loop_exists_share", "distinct_walk_share", "accuracy", "cov_logp_adv", "zero_adv_groups", "n_adv_groups",
           "tokens_mean", "n_samples", "n_scored", "seconds")


@dataclass
class Measurement:
    """One probe of one policy.

    Attributes
    ----------
    metrics : the summary (:data:`METRICS`); NaN where a measure is undefined (e.g. ``erank_window`` when no
        sample reaches ``window`` tokens).
    rows : one dict per sample: ``id`` ("<prompt id>/s<k>"), ``prompt_id``, ``sample``, ``text``,
        ``n_tokens``, ``finish_reason``, ``correct`` (None without a reference answer) and, for scored samples,
        the per-trace measures (``mean_entropy``, ``low_entropy_share``, ``forking_share_ref``,
        ``erank_window``, ``erv``, ``revisits_per_step``, ``loop_exists``, ``n_steps``, ``n_revisits``),
        ``walk`` (the step labels; None before the reference clustering exists) and ``scored`` (True).
    """

    metrics: dict[str, float]
    rows: list[dict] = field(default_factory=list)


def summarize(rows: Sequence[dict]) -> dict[str, float]:
    """The :data:`METRICS` (but ``seconds``) of one measurement's sample rows, NaN-aware means over samples."""
    def mean(key: str) -> float:
        x = np.array([r[key] for r in rows if key in r and r[key] is not None], dtype=np.float64)
        x = x[np.isfinite(x)]
        return float(x.mean()) if x.size else math.nan

    scored = [r for r in rows if r.get("scored")]
    walked = [r for r in scored if r["walk"] is not None]
    walks: dict[str, list[list[int]]] = {}
    for r in walked:
        walks.setdefault(r["prompt_id"], []).append(r["walk"])
    shares = [distinct_walk_share(w) for w in walks.values()]
    correct = [r["correct"] for r in rows if r.get("correct") is not None]
    return {"H_mean": mean("mean_entropy"), "H_low_share": mean("low_entropy_share"),
            "forking_share_ref": mean("forking_share_ref"), "erank_window": mean("erank_window"),
            "erv": mean("erv"), "revisits_per_step": mean("revisits_per_step"),
            "loop_exists_share": float(np.mean([r["loop_exists"] for r in walked])) if walked else math.nan,
            "distinct_walk_share": float(np.mean(shares)) if shares else math.nan,
            "accuracy": float(np.mean(correct)) if correct else math.nan, **sample_covariance(rows),
            "tokens_mean": mean("n_tokens"), "n_samples": len(rows), "n_scored": len(scored)}
