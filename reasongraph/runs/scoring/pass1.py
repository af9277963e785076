"""Pass 1 of a scoring run: extract each model's records, cache every trace, keep what the fit needs.

:class:`Pass1` also holds what pass 2 shares with it: the reader, the run store, the model plan, the trace caches,
the set of records done, error accounting and timing.
"""
from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from reasongraph.core.errors import InputError, opt
from reasongraph.core.storage import atomic_write_json, read_json
from reasongraph.runs.folder.writer import RunStore
from reasongraph.runs.records.reader import RecordReader
from reasongraph.runs.records.record import Record
from reasongraph.runs.scoring.chunks import CHUNK_CHARS, Chunk, DEFAULT_CHUNK
from reasongraph.runs.scoring.extract_here import extract_chunk, load_checked
from reasongraph.runs.scoring.model_plan import ModelPlan
from reasongraph.runs.scoring.options import ScoringOptions
from reasongraph.runs.scoring.state import Timing
from reasongraph.runs.scoring.tally import Tally, extracted_before, open_bar
from reasongraph.stats.reservoir import ReservoirSample
from reasongraph.trace.cache import TraceCache
from reasongraph.trace.trace import PREFIX_TOKENS

__all__ = ["ENTROPY_SAMPLE", "Pass1"]

log = logging.getLogger("reasongraph")


ENTROPY_SAMPLE = 2_000_000  # token entropies kept (a seeded uniform sample) for a pooled forking threshold


class Pass1:
    """One scoring run's shared state, and its first pass (:meth:`extract_all`)."""

    def __init__(self, *, reader: RecordReader, store: RunStore, plan: ModelPlan, opts: ScoringOptions,
                 cache_dir: Path, progress: bool, loaded: dict[str, Any] | None = None) -> None:
        self.reader, self.store, self.plan, self.opts = reader, store, plan, opts
        self.cache_dir = cache_dir
        self.progress = progress
        self.total, self.total_chars = plan.n_records, plan.n_chars
        self.done: set[int] = store.done_lines()
        self.timing = Timing()
        self._identities: dict[str, dict] = self._saved_identities()
        self._models: dict[str, Any] = {}  # the loaded model of the unit being extracted
        self._caches: dict[tuple[str, float], TraceCache] = {}
        for unit, lm in (loaded or {}).items():
            self._adopt(unit, lm)

    # ------------------------------------------------------------------ models, identities, caches
    def _saved_identities(self) -> dict[str, dict]:
        path = self.store.layout.models
        found = read_json(path, "model identities") if path.exists() else {}
        if not isinstance(found, dict) or not all(isinstance(v, dict) for v in found.values()):
            raise InputError(f"{path}: damaged model identities file; delete it to record them again")
        return found

    def model(self, unit: str) -> Any:
        """The loaded model of ``unit`` (loaded now if needed; its identity is saved for later resumes)."""
        if unit not in self._models:
            t0 = time.perf_counter()
            lm = load_checked(self.plan, unit)
            self.timing.load_s += time.perf_counter() - t0
            self._adopt(unit, lm)
        return self._models[unit]

    def _adopt(self, unit: str, lm: Any) -> None:
        """Use ``lm`` for ``unit``: its identity must be the one the run started with (saved in models.json)."""
        self.timing.n_models_loaded += 1
        self._models[unit] = lm
        self.adopt_identity(unit, lm.identity())

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

    def release(self, unit: str) -> None:
        lm = self._models.pop(unit, None)
        if lm is not None:
            self.plan.release(unit, lm)

    def identity_known(self, unit: str) -> bool:
        """Whether the identity of ``unit`` is known without loading its model (saved by an earlier invocation)."""
        return unit in self._identities

    def identity(self, unit: str) -> dict:
        """The model identity of ``unit``: saved by an earlier invocation, or read off the loaded model."""
        if unit not in self._identities:
            self.model(unit)
        return self._identities[unit]

    def temperature(self, rec: Record) -> float:
        """The temperature ``rec`` is scored at: its own (a temperature field) or the run's."""
        return float(rec.temperature if rec.temperature is not None else self.opts.temperature)

    def cache(self, unit: str, temperature: float) -> TraceCache:
        """The trace cache of one model's traces scored at one temperature."""
        if (unit, temperature) not in self._caches:
            from reasongraph.trace.extraction.layers import resolve_layers

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

    def cluster_unit(self, rec: Record) -> str:
        """The clustering a record's steps belong to: its model's, or its group's with cluster_by="group"."""
        return self.plan.name_of(rec) if self.opts.cluster_by == "model" else str(rec.group)

    def layer_units(self, rec: Record) -> list[tuple[str, int, str]]:
        """(clustering unit, layer index, layer spec) for each layer of the sweep: the first layer is the unit
        itself, every other one its own unit "<unit>@<layer spec>", so each layer is clustered on its own."""
        from reasongraph.trace.extraction.layers import resolve_layers

        unit = self.cluster_unit(rec)
        n_layers = self.identity(self.plan.name_of(rec))["num_layers"]
        return [(unit if i == 0 else f"{unit}@{spec}", resolve_layers((spec,), n_layers)[0], str(spec))
                for i, spec in enumerate(self.opts.layers)]

    # ------------------------------------------------------------------ rows and errors
    def add_row(self, rec: Record, row: dict, n_tokens: int) -> None:
        """Append a scored record's row (in input order) and count it."""
        self.timing.n_analyzed += 1
        self.timing.n_analyzed_tokens += n_tokens
        self.store.append_row(row)
        self.done.add(rec.line)

    def record_error(self, rec: Record, reason: str, exc: BaseException | None = None) -> None:
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

    # ------------------------------------------------------------------ pass 1
    def extract_all(self, clusterer: Any = None, remote: Callable[["Pass1", Tally], None] | None = None) -> dict:
        """Extract and cache every record, one model at a time; return the samples the fit needs.

        ``{"vectors": {cluster unit: ReservoirSample of step vectors}, "entropy": ReservoirSample of token entropies,
        "entropy_by_group": {group: ReservoirSample}}``. ``clusterer``: a saved clusterer whose input width every
        model must match, checked before any extraction. ``remote``: another engine's pass 1 (the Ray engine's),
        called with this run and its :class:`Tally`: it extracts every chunk of :meth:`chunks` that misses a trace
        into the cache and records the failures; the samples are then read back from the cache here, in the order
        the local engine feeds them, so both engines fit the same clustering.
        """
        samples = {"vectors": {}, "entropy": ReservoirSample(ENTROPY_SAMPLE, self.opts.seed + 1),
                   "entropy_by_group": {}}
        unreadable = []
        with open_bar(self, "pass 1/2 extract", extracted_before(self)) as tally:
            for rec in self.reader:  # records that cannot even be read, first, in file order
                if not rec.ok:
                    if rec.line not in self.done:
                        self.record_error(rec, rec.error)
                    tally.skip(rec)
                    unreadable.append(rec)
            if remote is not None:
                for unit in self.plan.units:
                    self._check_width(clusterer, unit)
                remote(self, tally)
            else:
                for unit in self.plan.units:
                    self._extract_unit(unit, samples, tally, clusterer)
        if remote is not None:
            with open_bar(self, "pass 1/2 read back", unreadable) as tally:
                for unit in self.plan.units:
                    self._extract_unit(unit, samples, tally, clusterer)
        for key in self._cluster_units():
            samples["vectors"].setdefault(key, ReservoirSample(self.opts.fit_sample, self.opts.seed))
        return samples

    def _cluster_units(self) -> list[str]:
        base = (list(self.plan.units) if self.opts.cluster_by == "model"
                else [str(g) for unit in self.plan.units.values() for g in unit.groups])
        return [u if i == 0 else f"{u}@{spec}" for u in base for i, spec in enumerate(self.opts.layers)]

    def chunks(self, unit: str) -> Iterator[Chunk]:
        """The extraction chunks of one model's records (those of each temperature together), in order: the one
        place that forms them, for every engine.

        A chunk is ``batch_size`` records (default 16) in a row, or fewer once it holds ``CHUNK_CHARS`` characters.
        The chunks depend only on the input, never on what is cached or done: padded batches change hidden states
        in the last bits, so a resumed run (on any engine) must batch exactly as an uninterrupted one would.
        """
        recs = [r for r in self.reader if r.ok and self.plan.name_of(r) == unit]
        for t in dict.fromkeys(self.temperature(r) for r in recs):
            chunk: list[Record] = []
            chars = 0
            for rec in (r for r in recs if self.temperature(r) == t):
                chunk.append(rec)
                chars += rec.size
                if len(chunk) >= (self.opts.batch_size or DEFAULT_CHUNK) or chars >= CHUNK_CHARS:
                    yield Chunk(unit, t, chunk)
                    chunk, chars = [], 0
            if chunk:
                yield Chunk(unit, t, chunk)

    def _check_width(self, clusterer: Any, unit: str) -> None:
        """A saved clusterer must fit the hidden size of ``unit``'s model, checked before any extraction."""
        if clusterer is not None:
            from reasongraph.graph.cluster.inputs import check_width

            check_width("clusterer", clusterer, self.identity(unit)["hidden_size"], f"the model {unit}")

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

    def _extract_unit(self, unit: str, samples: dict, tally: Tally, clusterer: Any) -> None:
        """Pass 1 over the records of one model, chunk by chunk (:meth:`chunks`), then free the model."""
        chunks = self.chunks(unit)
        first = next(chunks, None)
        if first is None:
            return
        self._check_width(clusterer, unit)
        for chunk in itertools.chain([first], chunks):
            self._extract_chunk(chunk, samples, tally)
        self.release(unit)

    def _extract_chunk(self, chunk: Chunk, samples: dict, tally: Tally) -> None:
        """Extract one chunk unless all of it is cached (or failed before), then feed each record's step vectors
        and entropies to the samples in file order, cached or not, so a resumed fit sees the same data."""
        unit, t = chunk.unit, chunk.temperature
        cache = self.cache(unit, t)
        keys, failed_before = self.pending(chunk)
        missing = [not failed and not cache.has(key) for failed, key in zip(failed_before, keys)]
        fresh = self._extract(unit, t, chunk.records, keys, skip=[not m for m in missing],
                              exclude=self.sampled(chunk, keys), on_pass=lambda positions, tokens: tally.passed(
                                  [chunk.records[i] for i in positions], tokens)) if any(missing) else {}
        for i, (rec, key) in enumerate(zip(chunk.records, keys)):
            if failed_before[i]:
                tally.skip(rec)
                continue
            trace = fresh.get(i)
            if trace is None and rec.line in self.done:  # its extraction failed just now
                tally.finish(rec)
                continue
            if trace is None:
                trace = self._cached_or_extract(unit, t, rec, key)
                if trace is None:
                    tally.finish(rec)
                    continue
                tally.skip(rec)
            else:
                tally.finish(rec, tokens=len(trace.input_ids))
            self._sample(rec, trace, samples)

    def _sample(self, rec: Record, trace: Any, samples: dict) -> None:
        for key, layer, _ in self.layer_units(rec):
            vectors = samples["vectors"].setdefault(key, ReservoirSample(self.opts.fit_sample, self.opts.seed))
            vectors.add(trace.step_vectors(layer))
        h = np.asarray(trace.entropy, dtype=np.float64)
        h = h[np.isfinite(h)]
        samples["entropy"].add(h)
        group = str(rec.group) if rec.group is not None else "None"
        by_group = samples["entropy_by_group"]
        by_group.setdefault(group, ReservoirSample(ENTROPY_SAMPLE, self.opts.seed + 2)).add(h)

    # ------------------------------------------------------------------ one trace
    def cached_trace(self, rec: Record) -> Any:
        """The cached trace of ``rec``; extracted again if the entry is gone or unreadable (None if that fails)."""
        unit, t = self.plan.name_of(rec), self.temperature(rec)
        return self._cached_or_extract(unit, t, rec, self.cache(unit, t).key(rec.text, rec.prompt))

    def _cached_or_extract(self, unit: str, t: float, rec: Record, key: str) -> Any:
        t0 = time.perf_counter()
        trace = self.cache(unit, t).get(key)
        self.timing.cache_load_s += time.perf_counter() - t0
        if trace is None:
            trace = self._extract(unit, t, [rec], [key], skip=[False]).get(0)
        return trace

    def _extract(self, unit: str, t: float, recs: list[Record], keys: list[str], *,
                 skip: list[bool], exclude: list[bool] | None = None,
                 on_pass: Callable[[list[int], list[int]], None] | None = None) -> dict[int, Any]:
        """Extract ``recs`` as one batch (:func:`extract_chunk`), record the failures, cache the others;
        {position: trace} of those not skipped. Skipped records (cached, or failed before) are extracted with the
        others, since the batch must not change, but neither returned nor cached again: the cached trace stays the
        one every pass uses. ``exclude``: records that are no part of the batch (recorded while sampled)."""
        cache = self.cache(unit, t)
        t0 = time.perf_counter()
        out, errors = extract_chunk(self.model(unit), [r.text for r in recs], [r.prompt for r in recs],
                                    cache.options, batch_size=self.opts.batch_size, skip=skip, exclude=exclude,
                                    on_pass=on_pass)
        self.timing.extract_s += time.perf_counter() - t0
        for i, e in errors.items():
            self.record_error(recs[i], self.reason(e), e)
        for i, trace in out.items():
            self.note_extracted(recs[i], trace.meta.get("tokens_dropped", 0), len(trace.input_ids))
            cache.put(keys[i], trace)
        return out

    def note_extracted(self, rec: Record, tokens_dropped: int, n_tokens: int) -> None:
        """Count a freshly extracted record, and say so if it was cut to fit the model's context."""
        if tokens_dropped:
            log.warning("%s: truncated: dropped the last %d tokens to fit the model's context", rec.where(),
                        tokens_dropped)
        self.timing.n_extracted += 1
        self.timing.n_extracted_tokens += n_tokens
