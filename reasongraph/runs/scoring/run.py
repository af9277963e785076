"""A scoring run once its options are checked: the engine opened, the models planned and checked, pass 1, the fit,
pass 2, the summary. The engine is chosen once, here (:func:`~reasongraph.runs.engines.registry.open_engine`), and
every step after talks to it through the :class:`~reasongraph.runs.engines.protocol.Engine` protocol."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from reasongraph.analysis.metrics.registry import extra_metric_names
from reasongraph.core.checks import check_path_writable
from reasongraph.core.errors import InputError, opt
from reasongraph.core.storage import atomic_write_json
from reasongraph.runs.engines.protocol import ConnectOptions, Engine, EnginePlan, PlanRequest
from reasongraph.runs.engines.registry import open_engine
from reasongraph.runs.folder.layout import RunLayout
from reasongraph.runs.folder.rows_parquet import write_rows_parquet
from reasongraph.runs.folder.writer import RunStore
from reasongraph.runs.records.reader import RecordReader
from reasongraph.runs.scoring.extract_here import LocalExtractor
from reasongraph.runs.scoring.fit import fit_run, given_clusterer, load_clusterers, load_fit
from reasongraph.runs.scoring.k_choice import check_resumed_k
from reasongraph.runs.scoring.options import ScoreOptions
from reasongraph.runs.scoring.pass1 import collect
from reasongraph.runs.scoring.pass2 import score_rows
from reasongraph.runs.scoring.prompt_rows import write_prompt_rows
from reasongraph.runs.scoring.run_summary import summarize_run
from reasongraph.runs.scoring.state import RunState
from reasongraph.trace.extraction.layers import resolve_layers

__all__ = ["run_scoring"]


def run_scoring(path: str | Path, reader: RecordReader, opts: ScoreOptions, *, engine: str | Engine,
                workers: int | None, ray_address: str | None, out: str | Path, model: Any, model_field: str | None,
                limit: int | None, device: Any, dtype: Any, clusterer: Any, cache_dir: str | Path | None,
                sample_group_field: str | None, progress: bool) -> list[dict]:
    """Score the records of ``reader`` (options checked) on ``engine`` (a registered name or an Engine):
    :func:`~reasongraph.score_dataset`'s work once it has checked its options and opened the input. The engine is
    opened (a Ray cluster joined) and closed whatever happens."""
    if not isinstance(engine, str) and (workers is not None or ray_address is not None):
        # an Engine object is connected already: open_engine would drop them without a word
        raise InputError(f"{opt('workers')} and {opt('ray_address')} open a named engine; an Engine object "
                         f"({type(engine).__name__}) is connected already, so give them to it when you make it")
    opened = open_engine(engine, ConnectOptions(workers=workers, address=ray_address))
    request = PlanRequest(model=model, model_field=model_field, device=device, dtype=dtype, out=out,
                          cache_dir=cache_dir)
    try:
        return _score(path, reader, opts, opened, request, limit=limit, clusterer=clusterer,
                      sample_group_field=sample_group_field, progress=progress)
    finally:
        opened.close()


def _score(path: str | Path, reader: RecordReader, opts: ScoreOptions, engine: Engine, request: PlanRequest, *,
           limit: int | None, clusterer: Any, sample_group_field: str | None, progress: bool) -> list[dict]:
    """score_dataset once its options are checked and its engine open."""
    models = engine.plan(request, reader)
    given_clu = given_clusterer(clusterer, models)
    check_path_writable("out", request.out, folder=True)
    if request.cache_dir is not None:
        check_path_writable("cache_dir", request.cache_dir, folder=True)
    models.check_available()
    identity = {"input": str(Path(path).resolve()), "input_sha256": reader.sha256(), "format": reader.format,
                "fields": reader.fields, "limit": limit, **models.identity(), **opts.identity(),
                "clusterer": given_clu[1],
                **({"metrics": names} if (names := extra_metric_names()) else {})}  # absent: old manifests equal
    check_resumed_k(RunLayout(Path(request.out)).manifest, opts.k)
    plan = engine.check(models, request, clusterer=given_clu[0])
    _check_layers(opts, plan)
    with RunStore(request.out, identity) as store:
        state = RunState(reader=reader, store=store, plan=models, opts=opts, progress=progress,
                         cache_dir=Path(request.cache_dir or store.layout.traces))
        here = LocalExtractor(state, loaded=plan.preloaded)
        state.identity_source = here.identity
        state.timing.load_s += plan.load_s
        plan.preloaded.clear()  # the extractor holds the first model now and frees it after its records
        for unit, ident in plan.identities.items():
            state.adopt_identity(unit, ident)
        state.timing.engine, state.timing.workers = engine.name, engine.workers
        fit = load_fit(store)
        if fit is None:
            fit = fit_run(state, collect(state, engine, here, clusterer=given_clu[0]), given_clu)
        clusterers = load_clusterers(store, fit)
        score_rows(state, engine.pass2(state, fit, clusterers), here, clusterers=clusterers, fit=fit)
        rows = list(store.rows())
        diversity = write_prompt_rows(state, here, clusterers, fit) if sample_group_field else None
        t0 = time.perf_counter()
        write_rows_parquet(store.rows_path, store.layout.rows_parquet)
        state.timing.write_s += time.perf_counter() - t0
        atomic_write_json(store.layout.summary, summarize_run(state, rows, fit, diversity))
    return rows


def _check_layers(opts: ScoreOptions, plan: EnginePlan) -> None:
    """A layer the models checked so far lack (:meth:`Engine.check`: the local engine's first model, every model on
    Ray) fails before the run folder exists; the other models' layers are checked as they load."""
    for n_layers in ([lm.num_layers for lm in plan.preloaded.values()]
                     + [i["num_layers"] for i in plan.identities.values()]):
        resolve_layers(opts.layers, n_layers)
