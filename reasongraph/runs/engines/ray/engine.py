"""The Ray engine of :func:`reasongraph.score_dataset` (``engine="ray"``): both passes spread over a Ray cluster.

The driver (the process that calls score_dataset) keeps everything that makes a run a run: the run store and its
lock, the chunking, the clustering fit and every write of rows.jsonl, errors.jsonl and summary.json. Workers do
the heavy, independent work and write nothing but trace cache entries (each an atomic file):

- Pass 1, extraction, is a Ray Data ``map_batches`` over a pool of actors, one chunk per call. The driver forms
  exactly the chunks the local engine forms (:meth:`RunState.chunks`), so the padded batches, and with them the
  hidden states, are the same to the last bit; an actor extracts a chunk with :func:`extract_chunk` and caches
  each trace. An actor holds one model at a time (one GPU each where the cluster has GPUs) and switches when the
  chunks of the next model arrive, so with a model per group every model runs on the same pool.
- The fit stays on the driver: it reads the step vectors back from the cache in the local engine's order.
- Pass 2 is ``map_batches`` over CPU tasks: each labels and measures a few cached traces with
  :func:`~reasongraph.runs.scoring.row.score_trace` and sends the rows back; the driver's pass-2 loop
  (:func:`~reasongraph.runs.scoring.pass2.score_rows`) appends them in input order.

So rows equal the local engine's, and the engine is no part of the run's identity: a run begun on one engine
resumes on the other. Killing the driver loses nothing: cache entries are whole or absent, rows and errors are
only written by the driver, once each, and a rerun skips what is done. A worker that dies is retried by Ray
(``RETRIES`` times); the records of a chunk or batch that fails on every retry are written to errors.jsonl.

The cache must be one folder that the driver and every worker see (a shared filesystem on a cluster of several
nodes): :meth:`RayEngine.check_cache` makes sure of it before any work.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reasongraph.analysis.metrics.registry import extra_metric_modules
from reasongraph.core.errors import InputError, opt
from reasongraph.core.storage import read_json
from reasongraph.models.loaded import LoadedModel
from reasongraph.runs.engines.protocol import ConnectOptions, EnginePlan, Failed, Missing, PlanRequest, Row, Scored
from reasongraph.runs.engines.ray.cluster import CONNECT_TIMEOUT_S, check_reachable, probe_cache, probe_model
from reasongraph.runs.engines.ray.workers import Extractor, score_batch, torch_thread_count
from reasongraph.runs.folder.layout import RunLayout
from reasongraph.runs.records.reader import RecordReader
from reasongraph.runs.records.record import Record
from reasongraph.runs.scoring.extract_here import LocalExtractor
from reasongraph.runs.scoring.model_plan import ModelPlan
from reasongraph.runs.scoring.pass1 import check_width, extract_here
from reasongraph.runs.scoring.row import layer_column_units, row_head
from reasongraph.runs.scoring.state import RunState
from reasongraph.runs.scoring.tally import Tally, open_bar
from reasongraph.trace.cache import TraceCache

__all__ = ["INSTALL", "RETRIES", "RayEngine"]

log = logging.getLogger("reasongraph")


INSTALL = 'pip install "reasongraph[ray]"'
RETRIES = 3  # tries after the first of a chunk or batch whose worker died
PASS2_BLOCK = 4  # records per pass 2 task: small, so a batch that fails on every retry costs few records


class RayEngine:
    """A connection to a Ray cluster and the two passes run on it. Open it with :meth:`connect`."""

    name = "ray"

    def __init__(self, ray: Any, *, workers: int, gpus: int, nodes: list[dict], started: bool) -> None:
        self.ray = ray
        self.workers, self.gpus, self.nodes, self._started = workers, gpus, nodes, started
        self.metric_modules: list[str] = []  # set by check(): what pass 2's workers import

    # ------------------------------------------------------------------ the cluster
    @classmethod
    def connect(cls, options: ConnectOptions) -> "RayEngine":
        """Join the Ray cluster at ``options.address`` (None: the one this process already joined, the one RAY_ADDRESS
        names, the one ``ray start`` started on this machine, or a new local one: ray.init's own order).

        ``options.workers``: extraction actors; None is one per GPU, or one per node without GPUs. Raises
        InputError when Ray is not installed or the address cannot be reached within ``CONNECT_TIMEOUT_S``.
        """
        address, workers = options.address, options.workers
        try:
            import ray
            import ray.data  # noqa: F401 - Ray Data ships as the extra ray[data]
        except ImportError:
            raise InputError(f"{opt('engine', 'ray')} needs Ray, which is not installed: {INSTALL}") from None
        if address not in (None, "auto", "local"):
            check_reachable(address)
        started = not ray.is_initialized()  # a process already in a Ray session goes on in it
        if started:
            try:
                ray.init(address=address, logging_level=logging.WARNING, include_dashboard=False,
                         log_to_driver=False)
            except (ConnectionError, TimeoutError, ValueError, RuntimeError) as e:
                raise InputError(f"{opt('ray_address', address)}: cannot join a Ray cluster there "
                                 f"({' '.join(str(e).split())})") from None
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # its notices would interleave with our progress
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        gpus = int(ray.cluster_resources().get("GPU", 0))
        n = workers if workers is not None else (gpus or len(nodes))
        log.info("ray: %d nodes, %d GPUs, %d extraction workers", len(nodes), gpus, n)
        return cls(ray, workers=n, gpus=gpus, nodes=nodes, started=started)

    def close(self) -> None:
        """Leave the cluster if :meth:`connect` joined it (a caller's own Ray session stays open)."""
        if self._started:
            self.ray.shutdown()

    @property
    def device(self) -> str:
        """Where models load when the caller names no device: the workers' GPUs, if the cluster has any."""
        return "cuda" if self.gpus else "cpu"

    def _actor_resources(self) -> dict:
        """One GPU per extraction actor where there are GPUs; else the CPUs split between the actors (Ray gives
        torch as many threads as an actor has CPUs)."""
        if self.gpus:
            return {"num_gpus": 1}
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        return {"num_cpus": max(1, cpus // self.workers)}

    def check_cache(self, given: str | Path, cache_dir: Path, *, name: str) -> None:
        """Make sure every node's workers see and can write the cache folder ``cache_dir`` (``given``: as the user
        wrote it, under the option ``name``), before any work: a worker that caches a trace where the driver
        cannot read it back would lose it."""
        if len(self.nodes) > 1 and not Path(given).is_absolute():
            raise InputError(f"{opt(name, str(given))}: a Ray cluster of {len(self.nodes)} nodes needs an absolute "
                             "path on a filesystem every node mounts (NFS, Lustre...), not a relative one")
        target = cache_dir.resolve()  # the folder to be, or its nearest existing parent: nothing is created now
        while not target.exists() and target != target.parent:
            target = target.parent
        token = uuid.uuid4().hex
        marker = target / f".ray-probe-{token}"
        try:
            marker.write_text(token)
        except OSError as e:
            raise InputError(f"{opt(name, str(given))}: cannot write in {target} ({e.strerror})") from None
        try:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            probe = self.ray.remote(probe_cache)
            on = [NodeAffinitySchedulingStrategy(n["NodeID"], soft=False) for n in self.nodes]
            refs = [probe.options(num_cpus=0, scheduling_strategy=s).remote(str(target), marker.name, token)
                    for s in on]
            answers = self.ray.get(refs, timeout=CONNECT_TIMEOUT_S)
        except self.ray.exceptions.GetTimeoutError:
            raise InputError(f"{opt(name, str(given))}: the Ray workers did not answer within "
                             f"{CONNECT_TIMEOUT_S} s whether they can write there") from None
        finally:
            marker.unlink(missing_ok=True)
        for node, problem in zip(self.nodes, answers):
            if problem:
                where = f" on node {node.get('NodeManagerAddress', node['NodeID'])}" if len(self.nodes) > 1 else ""
                raise InputError(f"{opt(name, str(given))}: the Ray workers{where} {problem}; the trace cache "
                                 "must be a folder every worker can write and the driver can read")

    # ------------------------------------------------------------------ models
    def plan(self, request: PlanRequest, reader: RecordReader) -> ModelPlan:
        self.check_models(request.model)
        return ModelPlan.build(request.model, request.model_field, reader, device=request.device
                               if request.device is not None else self.device, dtype=request.dtype, here=False)

    def check(self, models: ModelPlan, request: PlanRequest, *, clusterer: Any) -> EnginePlan:
        """The workers load the models: the cache must be theirs too, and each model they cannot load or score
        fails the run now, as the local engine's first model does."""
        t0 = time.perf_counter()
        layout = RunLayout(Path(request.out))
        given = request.cache_dir
        self.check_cache(given if given is not None else request.out, Path(given or layout.traces),
                         name="cache_dir" if given is not None else "out")
        saved = read_json(layout.models, what="model identities") if layout.models.exists() else {}
        identities = self.identities(models, [u for u in models.units if u not in saved], clusterer=clusterer)
        self.metric_modules = extra_metric_modules()  # a family defined in __main__ fails the run before pass 1
        return EnginePlan(models, identities=identities, load_s=time.perf_counter() - t0)

    @staticmethod
    def check_models(model: Any) -> None:
        """Workers load the models themselves: each must be given by name or folder (``model`` as score_dataset
        takes it)."""
        if any(isinstance(m, LoadedModel) for m in (model.values() if isinstance(model, Mapping) else [model])):
            raise InputError(f"{opt('engine', 'ray')} loads each model on its workers: give {opt('model')} by name "
                             "or folder, not as a loaded model")

    def identities(self, plan: ModelPlan, units: list[str], *, clusterer: Any = None) -> dict[str, dict]:
        """Load each model of ``units`` once on a worker and return its identity (the cache keys hang on it); a
        model that cannot be loaded or scored (or that does not fit ``clusterer``) is an InputError now."""
        probe = self.ray.remote(probe_model).options(**self._actor_resources(), max_retries=RETRIES)
        worker_plan = _worker_plan(plan)
        answers = self.ray.get([probe.remote(worker_plan, u, clusterer) for u in units])
        for answer in answers:
            if "error" in answer:
                raise InputError(answer["error"])
        return {u: a["identity"] for u, a in zip(units, answers)}

    # ------------------------------------------------------------------ pass 1
    def pass1(self, state: RunState, tally: Tally, here: LocalExtractor, *,
              clusterer: Any) -> Iterator[tuple[Record, Any]]:
        """Extract every chunk that misses a trace on the actor pool (:meth:`_extract`), then read every trace
        back from the cache here, in the local engine's order, on a progress bar of its own."""
        for unit in state.plan.units:
            check_width(state, clusterer, unit)
        self._extract(state, tally)
        tally.close()
        with open_bar(state, "pass 1/2 read back", [rec for rec in state.reader if not rec.ok]) as back:
            yield from extract_here(state, here, back, clusterer=clusterer)

    def _extract(self, state: RunState, tally: Tally) -> None:
        """Extract every chunk that misses a trace on the actor pool; record the failures as the results come in,
        in chunk order."""
        jobs, recs = [], []
        for unit in state.plan.units:
            for chunk in state.chunks(unit):
                cache = state.cache(unit, chunk.temperature)
                keys, failed = state.pending(chunk)
                skip = [f or cache.has(k) for f, k in zip(failed, keys)]
                if all(skip):
                    for rec in chunk.records:
                        tally.skip(rec)
                    continue
                jobs.append({"unit": unit, "texts": [r.text for r in chunk.records],
                             "prompts": [r.prompt for r in chunk.records], "keys": keys, "skip": skip,
                             "exclude": state.sampled(chunk, keys), "identity": state.identity(unit),
                             "options": cache.options})
                recs.append(chunk.records)
        if not jobs:
            return
        t0 = time.perf_counter()
        worker_plan = _worker_plan(state.plan)
        # One chunk in flight per actor: a chunk queued behind one that kills its actor would fail with it.
        pool = self.ray.data.ActorPoolStrategy(size=min(self.workers, len(jobs)), max_tasks_in_flight_per_actor=1)
        with _remote_args_deprecation_ignored():
            ds = self._dataset(jobs, block=1).map_batches(
                Extractor, batch_size=1, compute=pool,
                fn_constructor_kwargs={"plan": worker_plan, "cache_dir": str(state.cache_dir.resolve()),
                                       "batch_size": state.opts.batch_size, "torch_threads": torch_thread_count()},
                max_task_retries=RETRIES, **self._actor_resources())
        for i, result in self._ordered(ds, len(jobs)):
            chunk, skip = recs[i], jobs[i]["skip"]
            if result is not None and "fatal" in result:
                raise InputError(result["fatal"])
            for j, rec in enumerate(chunk):
                if skip[j]:
                    tally.skip(rec)
                elif result is None:
                    state.record_error(rec, f"the Ray worker extracting it failed on every one of {RETRIES + 1} "
                                            "tries")
                    tally.finish(rec)
                elif str(j) in result["errors"]:
                    state.record_error(rec, result["errors"][str(j)])
                    tally.finish(rec)
                else:
                    n_tokens, dropped = result["traces"][str(j)]
                    state.note_extracted(rec, dropped, n_tokens)
                    tally.finish(rec, tokens=n_tokens)
        state.timing.extract_s += time.perf_counter() - t0

    # ------------------------------------------------------------------ pass 2
    def pass2(self, state: RunState, fit: dict, clusterers: dict[str, Any]) -> Iterator[tuple[Record, Scored]]:
        """Label and measure every record not done on CPU tasks; their results in input order (the wall clock of
        the pass added to the analysis time when the iterator ends).

        The workers get the run's clusterers as their files (fit.json names them); a trace the workers could not
        read from the cache is ``Missing`` (extracted again on the driver).
        """
        t0 = time.perf_counter()
        todo = [rec for rec in state.reader if rec.line not in state.done and rec.ok]
        jobs = []
        for rec in todo:
            unit, columns = layer_column_units(state, rec)
            jobs.append({"path": str(TraceCache.entry_path(state.cache_dir.resolve(), state.cache_key(rec))),
                         "head": row_head(state, rec), "unit": unit, "layer_columns": columns})
        files = {u: (state.store.dir / e["clusterer_file"]).read_bytes() for u, e in fit["units"].items()
                 if e["clusterer_file"]}
        if jobs:
            with _remote_args_deprecation_ignored():
                ds = self._dataset(jobs, block=PASS2_BLOCK).map_batches(
                    score_batch, batch_size=PASS2_BLOCK, num_cpus=1, max_retries=RETRIES,
                    fn_kwargs={"clusterers": files, "options": state.opts.analysis_options(), "fit": fit,
                               "metric_modules": self.metric_modules})
            for i, result in self._ordered(ds, len(jobs)):
                yield todo[i], _scored(result)
        state.timing.analyze_s += time.perf_counter() - t0

    # ------------------------------------------------------------------ Ray Data
    def _dataset(self, jobs: list[dict], *, block: int) -> Any:
        """A dataset of ``jobs`` (JSON text, so any record survives the trip) in blocks of ``block`` jobs: a block
        is what fails alone when its worker dies on every retry."""
        items = [{"i": i, "job": json.dumps(job)} for i, job in enumerate(jobs)]
        return self.ray.data.from_items(items, override_num_blocks=max(1, -(-len(items) // block)))

    def _ordered(self, ds: Any, n: int):
        """(job index, result or None) for every job, in job order, as the results come in; None for a job whose
        block failed on every retry (Ray Data drops such blocks, since the run must go on)."""
        ctx = ds.context
        ctx.execution_options.preserve_order = True
        ctx.max_errored_blocks = -1
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        expected = 0
        for batch in ds.iter_batches(batch_size=1, batch_format="numpy"):
            for i, out in zip(batch["i"], batch["out"]):
                while expected < i:
                    yield expected, None
                    expected += 1
                yield int(i), json.loads(out)
                expected = int(i) + 1
        while expected < n:
            yield expected, None
            expected += 1


def _scored(result: dict | None) -> Scored:
    """A pass-2 task's answer for one record as the pass-2 loop takes it."""
    if result is None:
        return Failed(f"the Ray task scoring it failed on every one of {RETRIES + 1} tries")
    if "error" in result:
        return Failed(result["error"])
    if "row" not in result:  # the cache entry is gone or unreadable: extract it again, on the driver
        return Missing()
    return Row(result["row"], result["n_tokens"])


@contextmanager
def _remote_args_deprecation_ignored() -> Iterator[None]:
    """Ray 2.60 deprecates map_batches' remote arguments (removed in 2.64: the extra stays below it) and names no
    replacement for the retry counts yet, which must stay finite: a record that kills its worker on every try
    would otherwise be retried forever. The warning is of no use to a user, so it is kept from them."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ray_remote_args.* is deprecated", category=DeprecationWarning)
        yield


def _worker_plan(plan: ModelPlan) -> ModelPlan:
    """The plan as workers load it: model paths made absolute, since a worker runs in a folder of its own."""
    out = copy.copy(plan)
    out.units = {name: dataclasses.replace(u, spec=_absolute(u.spec)) for name, u in plan.units.items()}
    return out


def _absolute(spec: Any) -> Any:
    if isinstance(spec, (str, os.PathLike)) and Path(spec).expanduser().exists():
        return str(Path(spec).expanduser().resolve())
    return spec
