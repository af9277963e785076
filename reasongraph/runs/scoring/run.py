"""A scoring run once its options are checked: the engine joined, the models planned and checked, pass 1, the fit,
pass 2, the summary."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.core.storage import atomic_write_json, read_json
from reasongraph.runs.folder.layout import RunLayout
from reasongraph.runs.folder.rows_parquet import write_rows_parquet
from reasongraph.runs.folder.writer import RunStore
from reasongraph.runs.records.reader import RecordReader
from reasongraph.runs.scoring.extract_here import load_checked
from reasongraph.runs.scoring.fit import _fit, _given_clusterer, _load_clusterers, _load_fit
from reasongraph.runs.scoring.k_choice import check_resumed_k
from reasongraph.runs.scoring.model_plan import ModelPlan
from reasongraph.runs.scoring.options import ScoringOptions
from reasongraph.runs.scoring.pass1 import Pass1
from reasongraph.runs.scoring.pass2 import _pass2, score_record
from reasongraph.runs.scoring.prompt_rows import write_prompt_rows
from reasongraph.runs.scoring.run_summary import _summary

__all__ = ["ENGINES", "run_scoring"]


ENGINES = ("local", "ray")


def run_scoring(path: str | Path, reader: RecordReader, opts: ScoringOptions, *, engine: str, workers: int | None,
                ray_address: str | None, out: str | Path, model: Any, model_field: str | None, limit: int | None,
                device: Any, dtype: Any, clusterer: Any, cache_dir: str | Path | None,
                sample_group_field: str | None, progress: bool) -> list[dict]:
    """Score the records of ``reader`` (options checked) on ``engine``: :func:`~reasongraph.score_dataset`'s work
    once it has checked its options and opened the input. The engine's options are checked here, then the engine
    is joined (Ray) and released whatever happens."""
    _check_engine(engine, workers, ray_address)
    ray = None
    if engine == "ray":
        from reasongraph.runs.engines.ray.engine import RayEngine

        ray = RayEngine.connect(ray_address, workers)
    try:
        return _score(path, reader, opts, ray, out=out, model=model, model_field=model_field, limit=limit,
                      device=device, dtype=dtype, clusterer=clusterer, cache_dir=cache_dir,
                      sample_group_field=sample_group_field, progress=progress)
    finally:
        if ray is not None:
            ray.close()


def _check_engine(engine: str, workers: int | None, ray_address: str | None) -> None:
    from reasongraph.core.checks import check_choice, check_optional_int

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
    from reasongraph.core.checks import check_path_writable

    check_path_writable("out", out, folder=True)
    if cache_dir is not None:
        check_path_writable("cache_dir", cache_dir, folder=True)
    plan.check_available()
    identity = {"input": str(Path(path).resolve()), "input_sha256": reader.sha256(), "format": reader.format,
                "fields": reader.fields, "limit": limit, **plan.identity(), **opts.identity(),
                "clusterer": given_clu[1]}
    layout = RunLayout(Path(out))
    check_resumed_k(layout.manifest, opts.k)
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
    from reasongraph.trace.extraction.layers import resolve_layers

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
