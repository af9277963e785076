"""Batch scoring of a dataset of traces: :func:`score_dataset`, in two passes like the Topology of Reasoning paper.

Pass 1 extracts every record and caches each :class:`~reasongraph.trace.Trace` on disk, keeping only the step
vectors (and a sample of token entropies) in memory. Then one clustering is fitted per clustering unit (each
model by default) over the steps of its records, or a saved one is reused. Pass 2 labels each cached trace and
computes every metric with :func:`~reasongraph.analysis.analyze_trace`, appending one row per record to
``rows.jsonl``. Records that cannot be scored go to ``errors.jsonl``; rows + errors = records, always.

Several models. ``model`` may map groups to models (``{"base": "Qwen/...", "rl": "..."}``, ``"*"`` for every
other group), or ``model_field`` may name each record's model in the data; then each group's traces are run
through the model that wrote them, which makes the token entropy the policy's own (the faithful comparison of
the seed question). Models load one at a time: a model's records are extracted, then it is freed, so two large
models are never in memory together. Hidden states of different models never meet in one clustering.

Resuming (the same call after Ctrl-C or ``kill -9``): records whose line is in rows.jsonl or errors.jsonl are done.
If the kill came during pass 1 (no fit.json yet), pass 1 runs again over all records, reading the extracted ones
from the cache in file order, so the clustering is fitted on exactly the same step vectors and comes out the same.
If it came during pass 2, the saved clusterers are reused and pass 2 continues with the next record not done. A
model is not even loaded when every one of its records is in the cache. Either way the rows equal those of an
uninterrupted run.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reasongraph.errors import InputError, opt
from reasongraph.parquet import write_rows_parquet
from reasongraph.progress import Progress
from reasongraph.records import Record, RecordReader
from reasongraph.runstore import RunStore
from reasongraph.sampling import StreamSample
from reasongraph.scoring.options import ScoringOptions
from reasongraph.runs import RunLayout
from reasongraph.scoring.pass1 import Pass1, load_checked
from reasongraph.scoring.pass2 import row_head, score_trace, sweep_units
from reasongraph.scoring.plan import ModelPlan
from reasongraph.scoring.prompt_rows import write_prompt_rows
from reasongraph.storage import atomic_write, atomic_write_json, file_sha256, read_json
from reasongraph.summary import ON_POLICY, layer_table, summarize

log = logging.getLogger("reasongraph")

__all__ = ["ENGINES", "score_dataset"]

ENGINES = ("local", "ray")


def score_dataset(path: str | Path, *, out: str | Path, model: Any = None, model_field: str | None = None,
                  text_field: str = "trace", prompt_field: str | None = None, id_field: str | None = "id",
                  group_field: str | None = None, pair_field: str | None = None,
                  sample_group_field: str | None = None, temperature_field: str | None = None,
                  policy_field: str | None = None, limit: int | None = None,
                  layers: Any = (0.9,), segment: str = "newline", prompt_format: str = "raw",
                  temperature: float = 1.0, truncate: bool = False, device: Any = None, dtype: Any = None,
                  clusterer: Any = None, k: int = 200, method: str = "kmeans", cluster_by: str = "model",
                  fit_sample: int | None = None, rho: float = 0.2, forking_threshold: float | None = None,
                  rule: str = "onset", onset_tokens: int = 1, lookback: int = 0, n_shifts: int = 1000,
                  batch_size: int | None = None, cache_dir: str | Path | None = None, keep_hidden: bool = False,
                  on_error: str = "skip", seed: int = 0, progress: bool = True, engine: str = "local",
                  workers: int | None = None, ray_address: str | None = None) -> list[dict]:
    """Score every trace of a dataset; write a resumable run folder; return the rows.

    Parameters
    ----------
    path : JSONL, CSV/TSV, Parquet file, or a folder saved by ``datasets`` (see :mod:`reasongraph.records`).
    out : the run folder (see :mod:`reasongraph.runs` for its layout). Rerunning into it resumes; a rerun with
        other options is refused.
    model : a LoadedModel, a spec for :func:`~reasongraph.models.load_model`, None for the default model, or a
        mapping {group: model} (key ``"*"``: every other group) so that each group is scored by its own model.
    model_field : instead of ``model``, the field naming each record's model (a spec to load).
    text_field, prompt_field, id_field, group_field, pair_field : field names in the input; the default id
        field ``"id"`` may be absent (records are then known by line number).
    sample_group_field : the field several samples of one prompt share (e.g. ``prompt_id`` from
        :func:`reasongraph.generate`); the run then writes diversity.jsonl, one row per prompt with the diversity
        of its samples (:func:`reasongraph.diversity.diversity_metrics`), and summary.json their group means.
    temperature_field, policy_field : for on-policy samples (e.g. from :func:`reasongraph.generate`, whose
        records carry ``temperature`` and ``model``): each record is scored at the temperature it was sampled at,
        and rows get ``on_policy``, true when the record's policy is the model that scored it, so the token
        entropy is the policy's own.
    limit : score only the first ``limit`` records of the input.
    layers, segment, prompt_format, temperature, truncate : extraction options, as
        :func:`~reasongraph.extraction.extract`. The first layer gives the step vectors; with several, each is
        clustered on its own and rows get each further layer's graph metrics as "<name>@<layer>" (a layer sweep,
        as the paper's 0.1..0.9; summary.json's "layers" has the detection ratio by layer).
    device, dtype : where and how models given by spec are loaded (see :func:`~reasongraph.models.load_model`).
    clusterer : None fits clusterings over the steps of the dataset; a path (or a fitted clusterer) reuses one
        (a single model only).
    k, method : the clustering to fit. With one clustering unit K is lowered to the number of steps when there
        are fewer; with several, unit g gets K_g = round(n_steps_g / c), c set so the largest unit gets ``k``:
        a fixed K would give the unit with more steps more revisits by construction.
    cluster_by : "model" (default: groups scored by one model share its clustering) or "group" (one per group).
    fit_sample : fit each clustering on a seeded uniform sample of at most this many step vectors.
    rho, forking_threshold, rule, onset_tokens, lookback, n_shifts : alignment options of
        :func:`~reasongraph.analysis.analyze_trace`. Each row also gets ``forking_share_pooled``, the share of the
        trace's tokens at or above one run-wide top-``rho`` threshold (from a seeded sample of at most 2M tokens),
        or strictly above ``forking_threshold``, and ``forking_share_by_group``, the same against each group's
        own pooled threshold (``compare`` reads the reference group's as ``forking_share_ref``).
    batch_size : at most this many records per extract_batch call (None: 16, fewer once a call holds 32k
        characters). Part of the run's identity, with the device: padded batches change hidden states in the
        last bits, so a resumed run must batch exactly as the first one did.
    cache_dir : where extracted traces are cached (default ``out/traces``); may be shared between runs.
    keep_hidden : also cache every token's hidden states (float16). By default the cache keeps what the passes
        need, each layer's step vectors and hidden-state summary: 133 KiB per 1k tokens for SmolLM2 against
        2,298 with float32 hidden states (measured on examples/trace.txt), with the same rows.
    on_error : "skip" writes bad records to errors.jsonl and goes on; "fail" raises InputError at the first.
    seed : seeds the clustering, the fit sample, the bootstrap CIs and the alignment permutation test.
    progress : show progress on stderr (a bar on a terminal, log lines elsewhere).
    engine : "local" (this process) or "ray": both passes spread over a Ray cluster (the extra
        ``reasongraph[ray]``; see :mod:`reasongraph.scoring.ray_engine`), with the same rows. Not part of the
        run's identity: a run begun on one engine resumes on the other. On a cluster of several nodes the trace
        cache (``cache_dir``, or ``out/traces``) must be an absolute path on a filesystem every node mounts.
    workers : with engine="ray", the extraction actors (default: one per GPU, one per node without GPUs).
    ray_address : with engine="ray", the cluster to join (default: the one RAY_ADDRESS names, else the one
        ``ray start`` started on this machine, else a new local one).

    Returns
    -------
    list of row dicts, as in rows.jsonl (input order).

    Raises
    ------
    InputError : a bad option, missing input, unknown field, a group without a model, a run folder holding other
        options or written by another process, a clusterer of another hidden size, or (``on_error="fail"``) the
        first bad record. Every check runs before any model is loaded or any file is written.
    """
    opts = ScoringOptions.checked(**{k_: v for k_, v in locals().items()
                                     if k_ in ScoringOptions.__dataclass_fields__})
    _check_engine(engine, workers, ray_address)
    reader = RecordReader(path, text_field=text_field, prompt_field=prompt_field, id_field=id_field,
                          group_field=group_field, pair_field=pair_field, model_field=model_field,
                          sample_group_field=sample_group_field, temperature_field=temperature_field,
                          policy_field=policy_field, limit=limit)
    ray = None
    if engine == "ray":
        from reasongraph.scoring.ray_engine import RayEngine

        ray = RayEngine.connect(ray_address, workers)
    try:
        return _score(path, reader, opts, ray, out=out, model=model, model_field=model_field, limit=limit,
                      device=device, dtype=dtype, clusterer=clusterer, cache_dir=cache_dir,
                      sample_group_field=sample_group_field, progress=progress)
    finally:
        if ray is not None:
            ray.close()


def _check_engine(engine: str, workers: int | None, ray_address: str | None) -> None:
    from reasongraph.validate import check_choice, check_optional_int

    check_choice("engine", engine, ENGINES)
    check_optional_int("workers", workers, low=1)
    if engine != "ray" and (workers is not None or ray_address is not None):
        raise InputError(f"{opt('workers')} and {opt('ray_address')} apply to {opt('engine', 'ray')}")


def _score(path: str | Path, reader: RecordReader, opts: ScoringOptions, ray: Any, *, out: str | Path, model: Any,
           model_field: str | None, limit: int | None, device: Any, dtype: Any, clusterer: Any,
           cache_dir: str | Path | None, sample_group_field: str | None, progress: bool) -> list[dict]:
    """score_dataset once its options are checked (and, with ``ray``, the cluster joined)."""
    if ray is not None:
        ray.check_models(model)
    plan = ModelPlan.build(model, model_field, reader, device=device if device is not None or ray is None
                           else ray.device, dtype=dtype, here=ray is None)
    given_clu = _given_clusterer(clusterer, plan)
    from reasongraph.validate import check_path_writable

    check_path_writable("out", out, folder=True)
    if cache_dir is not None:
        check_path_writable("cache_dir", cache_dir, folder=True)
    plan.check_available()
    identity = {"input": str(Path(path).resolve()), "input_sha256": reader.sha256(), "format": reader.format,
                "fields": reader.fields, "limit": limit, **plan.identity(), **opts.identity(),
                "clusterer": given_clu[1]}
    layout = RunLayout(Path(out))
    loaded, load_s, identities = {}, 0.0, {}
    t0 = time.perf_counter()
    if ray is not None:
        # The workers load the models: the cache must be theirs too, and each model they cannot load or score
        # fails the run now, as the local engine's first model does.
        ray.check_cache(cache_dir if cache_dir is not None else out, Path(cache_dir or layout.traces),
                        name="cache_dir" if cache_dir is not None else "out")
        saved = read_json(layout.models, "model identities") if layout.models.exists() else {}
        identities = ray.identities(plan, [u for u in plan.units if u not in saved], given_clu[0])
    elif not layout.manifest.exists() and plan.units:
        # A fresh run loads its first model now: one that reasongraph cannot read fails before the run folder
        # exists. A resumed run loads a model only when some of its records are not in the cache.
        first = next(iter(plan.units))
        loaded[first] = load_checked(plan, first, given_clu[0])
    load_s = time.perf_counter() - t0
    from reasongraph.extraction import resolve_layers

    for n_layers in [lm.num_layers for lm in loaded.values()] + [i["num_layers"] for i in identities.values()]:
        resolve_layers(opts.layers, n_layers)  # a layer the model lacks fails before the folder
    with RunStore(out, identity) as store:
        run = Pass1(reader=reader, store=store, plan=plan, opts=opts, cache_dir=Path(cache_dir or store.layout.traces),
                    progress=progress, loaded=loaded)
        run.timing.load_s += load_s
        loaded.clear()  # Pass1 holds the first model now and frees it after its records; keep no other reference
        for unit, ident in identities.items():
            run.adopt_identity(unit, ident)
        if ray is not None:
            run.timing.engine, run.timing.workers = "ray", ray.workers
        fit = _load_fit(store)
        if fit is None:
            samples = run.extract_all(clusterer=given_clu[0], remote=ray.pass1 if ray is not None else None)
            fit = _fit(run, samples, given_clu)
        clusterers = _load_clusterers(store, fit)
        if ray is not None:
            options = run.opts.analysis_options()
            ray.pass2(run, fit, lambda rec, trace: score_record(run, rec, trace, clusterers, options=options, fit=fit))
        else:
            _pass2(run, clusterers, fit)
        rows = list(store.rows())
        diversity = write_prompt_rows(run, clusterers, fit) if sample_group_field else None
        t0 = time.perf_counter()
        write_rows_parquet(store.rows_path, store.layout.rows_parquet)
        run.timing.write_s += time.perf_counter() - t0
        atomic_write_json(store.layout.summary, _summary(run, rows, fit, diversity))
    return rows


# ---------------------------------------------------------------------- a saved clusterer
def _given_clusterer(clusterer: Any, plan: ModelPlan) -> tuple[Any, str | None, str | None]:
    """(the clusterer to reuse or None, its identity for the manifest: the file's SHA-256 or "object", and where
    it came from); a bad file fails here, before any work."""
    if clusterer is None:
        return None, None, None
    if len(plan.units) > 1:
        raise InputError(f"{opt('clusterer')}: a saved clusterer serves one model; this run scores with "
                         f"{len(plan.units)} ({', '.join(plan.units)}), each clustered on its own")
    if isinstance(clusterer, (str, Path)):
        from reasongraph.cluster import load_clusterer

        return load_clusterer(clusterer), file_sha256(clusterer), str(clusterer)
    from reasongraph.cluster import check_clusterer

    return check_clusterer("clusterer", clusterer), "object", "given"


# ---------------------------------------------------------------------- the fit
def _load_fit(store: RunStore) -> dict | None:
    """fit.json of a run whose pass 1 finished (it is written last, after the clusterers), else None."""
    if not store.layout.fit.exists():
        return None
    fit = read_json(store.layout.fit, "fit file")
    units = fit.get("units") if isinstance(fit, dict) else None
    if not isinstance(units, dict) or not all(isinstance(u, dict) and "clusterer_file" in u for u in units.values()):
        raise InputError(f"{store.layout.fit}: damaged fit file (no clustering units); delete it to fit again")
    if any(not (store.dir / u["clusterer_file"]).exists() for u in fit["units"].values() if u["clusterer_file"]):
        return None
    return fit


def _fit(run: Pass1, samples: dict, given: tuple) -> dict:
    """Fit (or take) one clusterer per unit and the pooled forking thresholds; save the clusterers, then fit.json.

    fit.json is written last: it marks pass 1 and the fit as done.
    """
    from reasongraph.cluster import fit_clusterer

    t0 = time.perf_counter()
    opts = run.opts
    vectors: dict[str, StreamSample] = samples["vectors"]
    ks = _unit_ks({u: s.n_seen for u, s in vectors.items()}, opts.k)
    fit = {"method": opts.method, "cluster_by": opts.cluster_by, "steps_per_cluster": ks.pop(None),
           "units": {}, **_thresholds(samples["entropy"], samples["entropy_by_group"], opts)}
    for i, (unit, sample) in enumerate(vectors.items()):
        X = sample.values()
        entry = {"n_steps": int(sample.n_seen), "n_fit_steps": int(len(X)), "k": None, "source": None,
                 "clusterer_file": None}
        clu = given[0]
        if clu is None and len(X):
            entry["k"] = min(ks[unit], len(X))
            log.info("fitting %s with K=%d on %d steps (%s)", opts.method, entry["k"], len(X), unit)
            clu, entry["source"] = fit_clusterer(X, method=opts.method, k=entry["k"], random_state=opts.seed), "fitted"
        elif clu is not None:
            entry["k"], entry["source"] = getattr(clu, "k_", None), given[2]
        if clu is not None:
            entry["clusterer_file"] = "clusterer.npz" if len(vectors) == 1 else f"clusterer-{i}.npz"
            atomic_write(run.store.dir / entry["clusterer_file"], clu.save, suffix=".npz")
        fit["units"][unit] = entry
    run.timing.fit_s += time.perf_counter() - t0
    atomic_write_json(run.store.layout.fit, fit)
    return fit


def _unit_ks(n_steps: Mapping[str, int], k: int) -> dict:
    """K per clustering unit: ``k`` for one unit; for several, the same steps-per-cluster ratio c for all, with
    c = (steps of the largest unit) / k, so K_g = round(n_steps_g / c). The key None holds c."""
    if len(n_steps) <= 1:
        return {**{u: k for u in n_steps}, None: None}
    c = max(n_steps.values()) / k
    return {**{u: max(1, round(n / c)) if c else k for u, n in n_steps.items()}, None: c}


def _thresholds(entropy: StreamSample, by_group: Mapping[str, StreamSample], opts: ScoringOptions) -> dict:
    """The run-wide and per-group pooled forking thresholds, and the rule they are applied with."""
    from reasongraph.signals import top_rho_threshold

    if opts.forking_threshold is not None:
        t = float(opts.forking_threshold)
        return {"forking_threshold": t, "forking_rule": ">", "forking_threshold_by_group": {g: t for g in by_group},
                "n_entropy_tokens": int(entropy.n_seen)}

    def pooled(sample: StreamSample) -> float:
        h = sample.values()
        return top_rho_threshold(h, opts.rho) if h.size else math.nan

    return {"forking_threshold": pooled(entropy), "forking_rule": ">=",
            "forking_threshold_by_group": {g: pooled(s) for g, s in by_group.items()},
            "n_entropy_tokens": int(entropy.n_seen)}


def _load_clusterers(store: RunStore, fit: dict) -> dict[str, Any]:
    from reasongraph.cluster import load_clusterer

    return {unit: load_clusterer(store.dir / u["clusterer_file"]) if u["clusterer_file"] else None
            for unit, u in fit["units"].items()}


# ---------------------------------------------------------------------- pass 2: label, analyze, append rows
def _pass2(run: Pass1, clusterers: dict[str, Any], fit: dict) -> None:
    options = run.opts.analysis_options()
    with Progress(run.total, "pass 2/2 analyze", enabled=run.progress, total_work=run.total_chars) as bar:
        for rec in run.reader:
            if rec.line in run.done:
                bar.skip(work=rec.size)
                continue
            if not rec.ok:
                run.record_error(rec, rec.error)
                bar.update(work=rec.size)
                continue
            trace = run.cached_trace(rec)
            scored = trace is not None and score_record(run, rec, trace, clusterers, options=options, fit=fit)
            bar.update(tokens=trace.n_tokens if scored else 0, work=rec.size)


def score_record(run: Pass1, rec: Record, trace: Any, clusterers: dict[str, Any], *, options: dict,
                 fit: dict) -> bool:
    """Pass 2 of one record here, on the driver: its row appended (True), or its error written (False)."""
    unit, sweep = sweep_units(run, rec)
    t0 = time.perf_counter()
    try:
        row = score_trace(trace, row_head(run, rec), clusterers[unit],
                          [(clusterers[key], layer, spec) for key, layer, spec in sweep], options=options, fit=fit)
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as e:  # noqa: BLE001 - one record's failure is that record's error
        run.timing.analyze_s += time.perf_counter() - t0
        run.record_error(rec, f"analysis failed: {run.reason(e)}", e)
        return False
    run.timing.analyze_s += time.perf_counter() - t0
    run.add_row(rec, row, trace.n_tokens)
    return True


# ---------------------------------------------------------------------- the summary
def _summary(run: Pass1, rows: list[dict], fit: dict, diversity: list[dict] | None) -> dict:
    from reasongraph.pooled import pool_alignment

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
    from reasongraph.diversity import METRICS
    from reasongraph.spread import SPREAD_METRICS

    return summarize(diversity, group_key="group", metrics=METRICS + SPREAD_METRICS, seed=seed) if diversity else {}
