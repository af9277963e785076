"""The local engine (``engine="local"``, the default): both passes in this process, one model at a time."""
from __future__ import annotations

import time
from pathlib import Path
from collections.abc import Iterator
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.runs.engines.protocol import ConnectOptions, EnginePlan, Missing, PlanRequest, Scored
from reasongraph.runs.folder.layout import RunLayout
from reasongraph.runs.records.reader import RecordReader
from reasongraph.runs.records.record import Record
from reasongraph.runs.scoring.extract_here import LocalExtractor, load_checked
from reasongraph.runs.scoring.model_plan import ModelPlan
from reasongraph.runs.scoring.pass1 import extract_here
from reasongraph.runs.scoring.pass2 import score_here
from reasongraph.runs.scoring.state import RunState
from reasongraph.runs.scoring.tally import Tally

__all__ = ["LocalEngine"]


class LocalEngine:
    """Both passes in this process: models load here, one at a time, each freed after its records."""

    name = "local"
    workers = 1

    @classmethod
    def connect(cls, options: ConnectOptions) -> LocalEngine:
        if options.workers is not None or options.address is not None:
            raise InputError(f"{opt('workers')} and {opt('ray_address')} apply to {opt('engine', 'ray')}")
        return cls()

    def plan(self, request: PlanRequest, reader: RecordReader) -> ModelPlan:
        return ModelPlan.build(request.model, request.model_field, reader, device=request.device,
                               dtype=request.dtype, here=True)

    def check(self, models: ModelPlan, request: PlanRequest, *, clusterer: Any) -> EnginePlan:
        """A fresh run loads its first model now: one that reasongraph cannot read fails before the run folder
        exists. A resumed run loads a model only when some of its records are not in the cache."""
        plan = EnginePlan(models)
        if not RunLayout(Path(request.out)).manifest.exists() and models.units:
            t0 = time.perf_counter()
            first = next(iter(models.units))
            plan.preloaded[first] = load_checked(models, first, clusterer=clusterer)
            plan.load_s = time.perf_counter() - t0
        return plan

    def pass1(self, state: RunState, tally: Tally, here: LocalExtractor, *,
              clusterer: Any) -> Iterator[tuple[Record, Any]]:
        return extract_here(state, here, tally, clusterer=clusterer)

    def pass2(self, state: RunState, fit: dict, clusterers: dict[str, Any]) -> Iterator[tuple[Record, Scored]]:
        """Each record to do, its cached trace labeled and measured here (``Missing`` when the cache lost it)."""
        for rec in state.reader:  # streamed: done only gains the lines already passed
            if rec.line in state.done or not rec.ok:
                continue
            unit, t = state.plan.name_of(rec), state.temperature(rec)
            trace = state.read_trace(unit, t, state.cache_key(rec))
            yield rec, Missing() if trace is None else score_here(state, rec, trace, clusterers, fit=fit)

    def close(self) -> None:
        pass
