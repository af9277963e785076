"""A scoring run's state, apart from any extraction: the reader, the run store, the model plan, the trace caches,
the records done, error accounting and timing (:class:`RunState`); what the run measures of its own work
(:class:`Timing`).

Every engine reads and writes the run through this object; only the driver holds it.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.core.storage import atomic_write_json, read_json
from reasongraph.runs.folder.writer import RunStore
from reasongraph.runs.records.reader import RecordReader
from reasongraph.runs.records.record import Record
from reasongraph.runs.scoring.chunks import Chunk, chunks
from reasongraph.runs.scoring.model_plan import ModelPlan
from reasongraph.runs.scoring.options import ScoreOptions
from reasongraph.trace.cache import TraceCache
from reasongraph.trace.extraction.layers import resolve_layers
from reasongraph.trace.trace import PREFIX_TOKENS

__all__ = ["RunState", "Timing"]

log = logging.getLogger("reasongraph")


@dataclass
class Timing:
    """Seconds spent per stage in this invocation (a resumed run counts only its own work). With the Ray engine,
    extract_s and analyze_s are the wall-clock seconds of those passes across the cluster."""

    engine: str = "local"
    workers: int = 1
    load_s: float = 0.0
    extract_s: float = 0.0
    cache_load_s: float = 0.0
    fit_s: float = 0.0
    analyze_s: float = 0.0
    write_s: float = 0.0
    n_models_loaded: int = 0
    n_extracted: int = 0
    n_extracted_tokens: int = 0
    n_analyzed: int = 0
    n_analyzed_tokens: int = 0


class RunState:
    """One scoring run's shared state. ``identity_source(unit)``: the model identity of a unit whose identity is
    neither saved nor adopted yet (the extractor of this process loads its model)."""

    def __init__(self, *, reader: RecordReader, store: RunStore, plan: ModelPlan, opts: ScoreOptions,
                 cache_dir: Path, progress: bool, identity_source: Callable[[str], dict] | None = None) -> None:
        self.reader, self.store, self.plan, self.opts = reader, store, plan, opts
        self.cache_dir = cache_dir
        self.progress = progress
        self.total, self.total_chars = plan.n_records, plan.n_chars
        self.done: set[int] = store.done_lines()
        self.timing = Timing()
        self.identity_source = identity_source
        self._identities: dict[str, dict] = self._saved_identities()
        self._caches: dict[tuple[str, float], TraceCache] = {}

    # ------------------------------------------------------------------ identities, caches
    def _saved_identities(self) -> dict[str, dict]:
        path = self.store.layout.models
        found = read_json(path, what="model identities") if path.exists() else {}
        if not isinstance(found, dict) or not all(isinstance(v, dict) for v in found.values()):
            raise InputError(f"{path}: damaged model identities file; delete it to record them again")
        return found

    def adopt_identity(self, unit: str, identity: dict) -> None:
        """Take ``identity`` as the model identity of ``unit`` (from a model loaded here or on a worker): it must
        be the one the run started with, and is saved for later resumes."""
        saved = self._identities.get(unit)
        if saved is not None and saved != identity:
            changed = ", ".join(k for k in identity if saved.get(k) != identity[k])
            raise InputError(f"the model {unit} differs from the one this run was started with ({changed}); "
                             f"resume with that model, or use another {opt('out')}")
        if saved is None:
            self._identities[unit] = identity
            atomic_write_json(self.store.layout.models, self._identities)

    def identity(self, unit: str) -> dict:
        """The model identity of ``unit``: saved by an earlier invocation, adopted, or asked of the identity
        source."""
        if unit not in self._identities and self.identity_source is not None:
            self.adopt_identity(unit, self.identity_source(unit))
        return self._identities[unit]

    def knows_identity(self, unit: str) -> bool:
        """Whether the identity of ``unit``'s model is known without loading it."""
        return unit in self._identities

    def temperature(self, rec: Record) -> float:
        """The temperature ``rec`` is scored at: its own (a temperature field) or the run's."""
        return float(rec.temperature if rec.temperature is not None else self.opts.temperature)

    def cache(self, unit: str, temperature: float) -> TraceCache:
        """The trace cache of one model's traces scored at one temperature."""
        if (unit, temperature) not in self._caches:
            ident = self.identity(unit)
            layer_ids = resolve_layers(self.opts.layers, ident["num_layers"])
            # a run with a sample group keeps each trace's first hidden states for the cross-sample spread
            prefix = PREFIX_TOKENS if self.reader.fields.get("sample_group") else 0
            options = self.opts.cache_options(layer_ids, temperature, prefix_tokens=prefix)
            self._caches[unit, temperature] = TraceCache(self.cache_dir, ident, options)
        return self._caches[unit, temperature]

    def cache_key(self, rec: Record) -> str:
        return self.cache(self.plan.name_of(rec), self.temperature(rec)).key(rec.text, rec.prompt)

    def cache_location(self) -> str:
        cache, out = self.cache_dir.resolve(), self.store.dir.resolve()
        return str(cache.relative_to(out)) if cache.is_relative_to(out) else str(cache)

    def read_trace(self, unit: str, t: float, key: str) -> Any:
        """The cached trace under ``key`` (None: gone or unreadable), its reading timed."""
        t0 = time.perf_counter()
        trace = self.cache(unit, t).get(key)
        self.timing.cache_load_s += time.perf_counter() - t0
        return trace

    def cluster_unit(self, rec: Record) -> str:
        """The clustering a record's steps belong to: its model's, or its group's with cluster_by="group"."""
        return self.plan.name_of(rec) if self.opts.cluster_by == "model" else str(rec.group)

    def layer_units(self, rec: Record) -> list[tuple[str, int, str]]:
        """(clustering unit, layer index, layer spec) for each layer of ``layers``: the first layer is the unit
        itself, every other one its own unit "<unit>@<layer spec>", so each layer is clustered on its own."""
        unit = self.cluster_unit(rec)
        n_layers = self.identity(self.plan.name_of(rec))["num_layers"]
        return [(unit if i == 0 else f"{unit}@{spec}", resolve_layers((spec,), n_layers)[0], str(spec))
                for i, spec in enumerate(self.opts.layers)]

    # ------------------------------------------------------------------ chunks
    def chunks(self, unit: str) -> Iterator[Chunk]:
        """The extraction chunks of one model's records (:func:`~reasongraph.runs.scoring.chunks.chunks`)."""
        return chunks(self.reader, unit, self.plan.name_of, self.temperature, self.opts.batch_size)

    def pending(self, chunk: Chunk) -> tuple[list[str], list[bool]]:
        """(each record's cache key, whether it is done already): in pass 1 a done record is one that failed. A
        chunk needs extracting when some record is neither done nor cached."""
        cache = self.cache(chunk.unit, chunk.temperature)
        return [cache.key(r.text, r.prompt) for r in chunk.records], [r.line in self.done for r in chunk.records]

    def sampled(self, chunk: Chunk, keys: list[str]) -> list[bool]:
        """Which records of ``chunk`` have a cache entry recorded while they were sampled: they are no part of
        the chunk's extraction batch. Such entries exist before the run starts (generate writes them), so the
        batch of the others is the same in every invocation, as resuming needs."""
        cache = self.cache(chunk.unit, chunk.temperature)
        return [cache.recorded_while_sampling(key) for key in keys]

    # ------------------------------------------------------------------ rows and errors
    def add_row(self, rec: Record, row: dict, n_tokens: int) -> None:
        """Append a scored record's row (in input order) and count it."""
        self.timing.n_analyzed += 1
        self.timing.n_analyzed_tokens += n_tokens
        self.store.append_row(row)
        self.done.add(rec.line)

    def record_error(self, rec: Record, reason: str, *, exc: BaseException | None = None) -> None:
        """Write a record's error (once) and say so; with on_error="fail" stop here."""
        if rec.line not in self.done:
            self.store.append_error({"line": rec.line, "id": rec.id, "reason": reason})
            self.done.add(rec.line)
        msg = f"{rec.where()}: {reason}"
        if self.opts.on_error == "fail":
            if exc is not None and not isinstance(exc, (InputError, ValueError)):
                raise exc
            raise InputError(f"{self.reader.path}: {msg} (use {opt('on_error', 'skip')} to skip bad records)")
        log.warning("skipped %s", msg)

    @staticmethod
    def reason(exc: BaseException) -> str:
        text = " ".join(str(exc).split())
        return text if isinstance(exc, InputError) else f"{type(exc).__name__}: {text}"

    def note_extracted(self, rec: Record, tokens_dropped: int, n_tokens: int) -> None:
        """Count a freshly extracted record, and say so if it was cut to fit the model's context."""
        if tokens_dropped:
            log.warning("%s: truncated: dropped the last %d tokens to fit the model's context", rec.where(),
                        tokens_dropped)
        self.timing.n_extracted += 1
        self.timing.n_extracted_tokens += n_tokens
