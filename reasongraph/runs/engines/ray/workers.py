"""What runs on Ray workers: the extraction actors, the pass-2 tasks and their thread settings."""
from __future__ import annotations

import gc
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from reasongraph.analysis.metrics.registry import import_metric_modules
from reasongraph.core.errors import InputError
from reasongraph.runs.scoring.extract_here import extract_chunk, load_checked
from reasongraph.runs.scoring.model_plan import ModelPlan
from reasongraph.runs.scoring.row import score_trace
from reasongraph.runs.scoring.state import RunState
from reasongraph.trace.cache import TraceCache
from reasongraph.trace.trace import Trace


class Extractor:
    """An extraction actor: holds one model at a time and extracts one chunk per call into the trace cache."""

    def __init__(self, plan: ModelPlan, cache_dir: str, batch_size: int | None, torch_threads: int) -> None:
        self.plan, self.cache_dir, self.batch_size = plan, cache_dir, batch_size
        self.torch_threads = torch_threads
        self.unit: str | None = None
        self.lm: Any = None

    def _model(self, unit: str, identity: dict) -> Any:
        if unit != self.unit:
            self.lm = self.unit = None  # the previous model goes before the next one loads
            _free_memory()
            lm = load_checked(self.plan, unit)
            if lm.identity() != identity:
                changed = ", ".join(k for k in identity if lm.identity().get(k) != identity[k])
                raise InputError(f"the model {unit} loads differently on a Ray worker ({changed}) than the run "
                                 "expects: give every node the same model files and library versions")
            self.unit, self.lm = unit, lm
        return self.lm

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        # the driver's torch threads: a pass that reads a shared prompt's cached keys and values (prefix sharing)
        # sums its attention in an order that depends on the thread count, and the rows must equal a local run's
        torch.set_num_threads(self.torch_threads)
        with _blas_as_local():
            out = [json.dumps(self._chunk(json.loads(job))) for job in batch["job"]]
        return {"i": batch["i"], "out": np.array(out, dtype=object)}

    def _chunk(self, job: dict) -> dict:
        try:
            lm = self._model(job["unit"], job["identity"])
        except InputError as e:
            return {"fatal": str(e)}
        traces, errors = extract_chunk(lm, job["texts"], job["prompts"], job["options"], batch_size=self.batch_size,
                                       skip=job["skip"], exclude=job["exclude"])
        cache = TraceCache(self.cache_dir, job["identity"], job["options"])
        for i, trace in traces.items():
            cache.put(job["keys"][i], trace)
        return {"traces": {str(i): [len(t.input_ids), int(t.meta.get("tokens_dropped", 0))] for i, t in traces.items()},
                "errors": {str(i): RunState.reason(e) for i, e in errors.items()}}


def _local_cores() -> int:
    """The threads a local process on this node uses: one per core it may run on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores or 1


def torch_thread_count() -> int:
    import torch

    return torch.get_num_threads()


def _blas_as_local() -> Any:
    """numpy's BLAS with as many threads as a local process on this node has. Ray gives a worker one per CPU it
    holds, but the last bits of an SVD or a matrix product (the hidden-state summaries, the cluster distances)
    depend on the thread count, and the rows must equal a local run's."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=_local_cores(), user_api="blas")


def _free_memory() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


_CLUSTERERS: dict[tuple[str, int], Any] = {}  # per worker process: clusterers read once per run


def _clusterer(unit: str, data: bytes | None) -> Any:
    """The clusterer saved as ``data`` (an npz file's bytes; None for a unit without one)."""
    from reasongraph.graph.cluster.estimator import load_clusterer

    if data is None:
        return None
    key = (unit, hash(data))
    if key not in _CLUSTERERS:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "clusterer.npz"
            path.write_bytes(data)
            _CLUSTERERS[key] = load_clusterer(path)
    return _CLUSTERERS[key]


def score_batch(batch: dict[str, np.ndarray], *, clusterers: dict[str, bytes], options: dict, fit: dict,
                metric_modules: list[str]) -> dict[str, np.ndarray]:
    """A pass 2 task: the row (or the error) of each job's cached trace, with the metric families the driver
    registered (their modules imported here first)."""
    import_metric_modules(metric_modules)
    with _blas_as_local():
        out = [json.dumps(_score_job(job, clusterers, options, fit)) for job in map(json.loads, batch["job"])]
    return {"i": batch["i"], "out": np.array(out, dtype=object)}


def _score_job(job: dict, clusterers: dict[str, bytes], options: dict, fit: dict) -> dict:
    """{"row", "n_tokens"}, {"error"}, or {} when the cached trace is gone or unreadable (the driver then
    extracts it again)."""
    try:
        trace = Trace.load(job["path"])
    except (OSError, ValueError):
        return {}
    try:
        clu = _clusterer(job["unit"], clusterers.get(job["unit"]))
        columns = [(_clusterer(key, clusterers.get(key)), layer, spec)
                   for key, layer, spec in job["layer_columns"]]
        return {"row": score_trace(trace, job["head"], clu, columns, options=options, fit=fit),
                "n_tokens": int(trace.n_tokens)}
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as e:  # noqa: BLE001 - one record's failure is that record's error
        return {"error": f"analysis failed: {RunState.reason(e)}"}
