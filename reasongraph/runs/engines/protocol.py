"""The Engine protocol: where the two passes of a scoring run happen (this process, a Ray cluster, ...).

:func:`~reasongraph.runs.scoring.run.run_scoring` opens one engine (:func:`~reasongraph.runs.engines.registry.
open_engine`) and drives every engine the same way: :meth:`Engine.plan` before the run folder exists,
:meth:`Engine.pass1` (the traces the fit needs), :meth:`Engine.pass2` (one result per record to score), then
:meth:`Engine.close`. The run state, the fit, every write of rows and errors and the pass-2 loop stay on the
driver, so every engine gives the same rows.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Union, runtime_checkable

if TYPE_CHECKING:
    from reasongraph.runs.records.reader import RecordReader
    from reasongraph.runs.records.record import Record
    from reasongraph.runs.scoring.extract_here import LocalExtractor
    from reasongraph.runs.scoring.model_plan import ModelPlan
    from reasongraph.runs.scoring.state import RunState
    from reasongraph.runs.scoring.tally import Tally

__all__ = ["ConnectOptions", "Engine", "EnginePlan", "Failed", "Missing", "PlanRequest", "Row", "Scored"]


@dataclass(frozen=True)
class ConnectOptions:
    """What opens an engine: ``workers`` and ``address`` (of a cluster), None where the engine takes none."""

    workers: int | None = None
    address: str | None = None


@dataclass(frozen=True)
class PlanRequest:
    """What :meth:`Engine.plan` plans: the models as score_dataset takes them, where and how they load, the run
    folder and the trace cache folder as the user gave it (None: in ``out``)."""

    model: Any
    model_field: str | None
    device: Any
    dtype: Any
    out: str | Path
    cache_dir: str | Path | None


@dataclass
class EnginePlan:
    """The models of a run, planned and checked: the :class:`ModelPlan`; the identities of units whose models
    were loaded elsewhere (a worker); models already loaded in this process (adopted by the run's extractor);
    the seconds spent loading."""

    models: ModelPlan
    identities: dict[str, dict] = field(default_factory=dict)
    preloaded: dict[str, Any] = field(default_factory=dict)
    load_s: float = 0.0


@dataclass(frozen=True)
class Row:
    """A record's row, scored on the engine; ``seconds`` of work the driver adds to the analysis time."""

    row: dict
    n_tokens: int
    seconds: float = 0.0


@dataclass(frozen=True)
class Failed:
    """A record that could not be scored: the reason (and the exception, where this process raised it)."""

    reason: str
    exc: BaseException | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Missing:
    """A record whose cached trace the engine could not read: the pass-2 loop extracts it again, here."""


Scored = Union[Row, Failed, Missing]


@runtime_checkable
class Engine(Protocol):
    """Where the passes of a scoring run happen: plan (:meth:`plan`, :meth:`check`), pass 1, pass 2, close.
    ``name`` and ``workers`` go to summary.json's timing."""

    name: str
    workers: int

    def plan(self, request: PlanRequest, reader: RecordReader) -> ModelPlan:
        """Which model scores which record, the models given as this engine can load them (nothing loaded)."""

    def check(self, models: ModelPlan, request: PlanRequest, *, clusterer: Any) -> EnginePlan:
        """The models checked before the run folder exists, once the run's other checks passed: a model that
        cannot be scored, or does not fit the saved ``clusterer``, fails the run now. The local engine loads the
        first model of a fresh run (the others load one at a time in pass 1, each checked then); the Ray engine
        asks its workers for every model's identity. Together with :meth:`plan`, the engine's planning: two
        calls, so the checks keep their order."""

    def pass1(self, state: RunState, tally: Tally, here: LocalExtractor, *,
              clusterer: Any) -> Iterator[tuple[Record, Any]]:
        """Extract every record of ``state.chunks(unit)`` that is neither cached nor failed, counting each on
        ``tally``; yield each ok record's lean trace (fresh or cached) in the local engine's order, so the fit
        sees the same vectors on every engine. ``clusterer``: a saved clusterer every model must fit."""

    def pass2(self, state: RunState, fit: dict, clusterers: dict[str, Any]) -> Iterator[tuple[Record, Scored]]:
        """One result per readable record not done, in input order."""

    def close(self) -> None:
        """Release what the engine holds (a cluster it joined)."""
