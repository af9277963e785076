"""summary.json of a scoring run: groups, the overall row, layers, diversity, timing."""
from __future__ import annotations

from dataclasses import asdict

from reasongraph.analysis.groups.per_group import ON_POLICY, layer_table, summarize
from reasongraph.analysis.groups.pooled_alignment import pool_alignment
from reasongraph.analysis.samples.diversity import METRICS
from reasongraph.analysis.samples.spread import SPREAD_METRICS
from reasongraph.runs.scoring.k_choice import chosen_k
from reasongraph.runs.scoring.model_plan import ModelPlan
from reasongraph.runs.scoring.state import RunState


# ---------------------------------------------------------------------- the summary
def summarize_run(run: RunState, rows: list[dict], fit: dict, diversity: list[dict] | None) -> dict:
    n_errors = sum(1 for _ in run.store.errors())
    has_groups = any(r.get("group") is not None for r in rows)
    seed = run.opts.seed
    groups = summarize(rows, group_key="group", seed=seed) if has_groups else {}
    for g, entry in groups.items():
        entry["alignment"] = pool_alignment([r for r in rows if str(r.get("group")) == g], seed=seed)
    overall = summarize(rows, group_key=None, seed=seed).get("all") if rows else None
    if overall is not None:
        overall["alignment"] = pool_alignment(rows, seed=seed)
    layers = [str(spec) for spec in run.opts.layers]
    return {
        "n_records": run.total, "n_rows": len(rows), "n_errors": n_errors,
        "complete": len(rows) + n_errors == run.total,
        "n_empty": sum(r.get("n_tokens") == 0 for r in rows),
        "extraction": {kind: sum(r.get("extraction") == kind for r in rows) for kind in ("sampled", "teacher_forced")},
        "mode": _mode(rows, run.plan),
        "scored_by": run.plan.scored_by(),
        "fit": fit,
        **chosen_k(fit),
        "notes": list(fit.get("notes") or []),
        "trace_cache": run.cache_location(),
        "overall": overall,
        "groups": groups,
        "layers": layer_table(rows, layers, seed=seed) if len(layers) > 1 else None,
        "diversity": _diversity_summary(diversity, seed) if diversity is not None else None,
        "timing": asdict(run.timing),
    }


def _mode(rows: list[dict], plan: ModelPlan) -> str:
    if rows and all(r.get("on_policy") for r in rows):
        return ON_POLICY
    return plan.mode()


def _diversity_summary(diversity: list[dict], seed: int) -> dict:
    return summarize(diversity, group_key="group", metrics=METRICS + SPREAD_METRICS, seed=seed) if diversity else {}
