"""The fit of a scoring run: one clusterer per clustering unit (K by :mod:`~reasongraph.runs.scoring.k_choice`)
and the pooled forking thresholds, written to fit.json last."""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.core.hashing import file_sha256
from reasongraph.core.storage import atomic_write, atomic_write_json, read_json
from reasongraph.runs.folder.writer import RunStore
from reasongraph.runs.scoring.k_choice import k_warning, unit_ks
from reasongraph.runs.scoring.model_plan import ModelPlan
from reasongraph.runs.scoring.options import ScoreOptions
from reasongraph.runs.scoring.state import RunState
from reasongraph.stats.reservoir import ReservoirSample
from reasongraph.trace.token_signals import top_rho_threshold

log = logging.getLogger("reasongraph")


# ---------------------------------------------------------------------- a saved clusterer
def given_clusterer(clusterer: Any, plan: ModelPlan) -> tuple[Any, str | None, str | None]:
    """(the clusterer to reuse or None, its identity for the manifest: the file's SHA-256 or "object", and where
    it came from); a bad file fails here, before any work."""
    if clusterer is None:
        return None, None, None
    if len(plan.units) > 1:
        raise InputError(f"{opt('clusterer')}: a saved clusterer serves one model; this run scores with "
                         f"{len(plan.units)} ({', '.join(plan.units)}), each clustered on its own")
    if isinstance(clusterer, (str, Path)):
        from reasongraph.graph.cluster.estimator import load_clusterer

        return load_clusterer(clusterer), file_sha256(clusterer), str(clusterer)
    from reasongraph.graph.cluster.estimator import check_clusterer

    return check_clusterer("clusterer", clusterer), "object", "given"


# ---------------------------------------------------------------------- the fit
def load_fit(store: RunStore) -> dict | None:
    """fit.json of a run whose pass 1 finished (it is written last, after the clusterers), else None."""
    if not store.layout.fit.exists():
        return None
    fit = read_json(store.layout.fit, what="fit file")
    units = fit.get("units") if isinstance(fit, dict) else None
    if not isinstance(units, dict) or not all(isinstance(u, dict) and "clusterer_file" in u for u in units.values()):
        raise InputError(f"{store.layout.fit}: damaged fit file (no clustering units); delete it to fit again")
    if any(not (store.dir / u["clusterer_file"]).exists() for u in fit["units"].values() if u["clusterer_file"]):
        return None
    return fit


def fit_run(run: RunState, samples: dict, given: tuple) -> dict:
    """Fit (or take) one clusterer per unit and the pooled forking thresholds; save the clusterers, then fit.json.

    fit.json is written last: it marks pass 1 and the fit as done.
    """
    from reasongraph.graph.cluster.estimator import fit_clusterer

    t0 = time.perf_counter()
    opts = run.opts
    vectors: dict[str, ReservoirSample] = samples["vectors"]
    fitted = {u: s.values() for u, s in vectors.items()}
    ks, c = unit_ks({u: s.n_seen for u, s in vectors.items()}, {u: len(X) for u, X in fitted.items()}, opts.k)
    fit = {"method": opts.method, "cluster_by": opts.cluster_by, "k_option": opts.k, "steps_per_cluster": c,
           "units": {}, "notes": [], **_thresholds(samples["entropy"], samples["entropy_by_group"], opts)}
    for i, (unit, sample) in enumerate(vectors.items()):
        X = fitted[unit]
        entry = {"n_steps": int(sample.n_seen), "n_fit_steps": int(len(X)), "k": None, "k_rule": None,
                 "source": None, "clusterer_file": None}
        clu = given[0]
        if clu is None and len(X):
            entry["k"], entry["k_rule"] = ks[unit]
            log.info("fitting %s with K=%d on %d steps (%s; %s)", opts.method, entry["k"], len(X), unit,
                     entry["k_rule"])
            clu, entry["source"] = fit_clusterer(X, method=opts.method, k=entry["k"], random_state=opts.seed), "fitted"
        elif clu is not None:
            entry["k"], entry["source"] = getattr(clu, "k_", None), given[2]
            entry["k_rule"] = f"the saved clusterer's K ({given[2]})"
        warning = k_warning(unit, entry["k"], len(X)) if entry["source"] == "fitted" else None
        if warning:
            log.warning("%s", warning)
            fit["notes"].append(warning)
        if clu is not None:
            entry["clusterer_file"] = "clusterer.npz" if len(vectors) == 1 else f"clusterer-{i}.npz"
            atomic_write(run.store.dir / entry["clusterer_file"], clu.save, suffix=".npz")
        fit["units"][unit] = entry
    run.timing.fit_s += time.perf_counter() - t0
    atomic_write_json(run.store.layout.fit, fit)
    return fit


def _thresholds(entropy: ReservoirSample, by_group: Mapping[str, ReservoirSample], opts: ScoreOptions) -> dict:
    """The run-wide and per-group pooled forking thresholds, and the rule they are applied with."""
    if opts.forking_threshold is not None:
        t = float(opts.forking_threshold)
        return {"forking_threshold": t, "forking_rule": ">", "forking_threshold_by_group": {g: t for g in by_group},
                "n_entropy_tokens": int(entropy.n_seen)}

    def pooled(sample: ReservoirSample) -> float:
        h = sample.values()
        return top_rho_threshold(h, rho=opts.rho) if h.size else math.nan

    return {"forking_threshold": pooled(entropy), "forking_rule": ">=",
            "forking_threshold_by_group": {g: pooled(s) for g, s in by_group.items()},
            "n_entropy_tokens": int(entropy.n_seen)}


def load_clusterers(store: RunStore, fit: dict) -> dict[str, Any]:
    from reasongraph.graph.cluster.estimator import load_clusterer

    return {unit: load_clusterer(store.dir / u["clusterer_file"]) if u["clusterer_file"] else None
            for unit, u in fit["units"].items()}
