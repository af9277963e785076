"""Pass 1 of a scoring run: every record extracted and cached (on the run's engine), and what the fit needs kept.

:func:`collect` opens the pass's progress, writes the errors of records that cannot be read, and feeds the traces
the engine yields to the samples the fit needs. :func:`extract_here` is pass 1 in this process, chunk by chunk: the
local engine's, and the Ray engine's read-back of the traces its workers cached.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from reasongraph.runs.records.record import Record
from reasongraph.runs.scoring.chunks import Chunk
from reasongraph.runs.scoring.extract_here import LocalExtractor
from reasongraph.runs.scoring.state import RunState
from reasongraph.runs.scoring.tally import Tally, extracted_before, open_bar
from reasongraph.stats.reservoir import ReservoirSample

if TYPE_CHECKING:
    from reasongraph.runs.engines.protocol import Engine

__all__ = ["ENTROPY_SAMPLE", "check_width", "collect", "extract_here"]


ENTROPY_SAMPLE = 2_000_000  # token entropies kept (a seeded uniform sample) for a pooled forking threshold


def collect(state: RunState, engine: Engine, here: LocalExtractor, *, clusterer: Any = None) -> dict:
    """Extract and cache every record on ``engine``; return the samples the fit needs.

    ``{"vectors": {cluster unit: ReservoirSample of step vectors}, "entropy": ReservoirSample of token entropies,
    "entropy_by_group": {group: ReservoirSample}}``. ``clusterer``: a saved clusterer whose input width every
    model must match, checked before any extraction.
    """
    opts = state.opts
    samples = {"vectors": {}, "entropy": ReservoirSample(ENTROPY_SAMPLE, opts.seed + 1), "entropy_by_group": {}}
    with open_bar(state, "pass 1/2 extract", extracted_before(state)) as tally:
        for rec in state.reader:  # records that cannot even be read, first, in file order
            if not rec.ok:
                if rec.line not in state.done:
                    state.record_error(rec, rec.error)
                tally.skip(rec)
        for rec, trace in engine.pass1(state, tally, here, clusterer=clusterer):
            _sample(state, rec, trace, samples)
    for key in _cluster_units(state):
        samples["vectors"].setdefault(key, ReservoirSample(opts.fit_sample, opts.seed))
    return samples


def _cluster_units(state: RunState) -> list[str]:
    base = (list(state.plan.units) if state.opts.cluster_by == "model"
            else [str(g) for unit in state.plan.units.values() for g in unit.groups])
    return [u if i == 0 else f"{u}@{spec}" for u in base for i, spec in enumerate(state.opts.layers)]


def check_width(state: RunState, clusterer: Any, unit: str) -> None:
    """A saved clusterer must fit the hidden size of ``unit``'s model, checked before any extraction."""
    if clusterer is not None:
        from reasongraph.graph.cluster.inputs import check_width as check

        check("clusterer", clusterer, state.identity(unit)["hidden_size"], f"the model {unit}")


def extract_here(state: RunState, here: LocalExtractor, tally: Tally, *,
                 clusterer: Any = None) -> Iterator[tuple[Record, Any]]:
    """Pass 1 in this process, one model at a time: each chunk extracted unless all of it is cached (or failed
    before), each ok record's trace yielded in file order, cached or not, so a resumed fit sees the same data;
    each model freed after its records."""
    for unit in state.plan.units:
        chunks = state.chunks(unit)
        first = next(chunks, None)
        if first is None:
            here.release(unit)  # preloaded for a fresh run, but none of its records could be read
            continue
        check_width(state, clusterer, unit)
        for chunk in itertools.chain([first], chunks):
            yield from _extract_chunk(state, here, chunk, tally)
        here.release(unit)


def _extract_chunk(state: RunState, here: LocalExtractor, chunk: Chunk,
                   tally: Tally) -> Iterator[tuple[Record, Any]]:
    unit, t = chunk.unit, chunk.temperature
    cache = state.cache(unit, t)
    keys, failed_before = state.pending(chunk)
    missing = [not failed and not cache.has(key) for failed, key in zip(failed_before, keys)]
    fresh = here.extract(unit, t, chunk.records, keys, skip=[not m for m in missing],
                         exclude=state.sampled(chunk, keys), on_pass=lambda positions, tokens: tally.passed(
                             [chunk.records[i] for i in positions], tokens)) if any(missing) else {}
    for i, (rec, key) in enumerate(zip(chunk.records, keys)):
        if failed_before[i]:
            tally.skip(rec)
            continue
        trace = fresh.get(i)
        if trace is None and rec.line in state.done:  # its extraction failed just now
            tally.finish(rec)
            continue
        if trace is None:
            trace = here.cached_or_extract(unit, t, rec, key)
            if trace is None:
                tally.finish(rec)
                continue
            tally.skip(rec)
        else:
            tally.finish(rec, tokens=len(trace.input_ids))
        yield rec, trace


def _sample(state: RunState, rec: Record, trace: Any, samples: dict) -> None:
    opts = state.opts
    for key, layer, _ in state.layer_units(rec):
        vectors = samples["vectors"].setdefault(key, ReservoirSample(opts.fit_sample, opts.seed))
        vectors.add(trace.step_vectors(layer))
    h = np.asarray(trace.entropy, dtype=np.float64)
    h = h[np.isfinite(h)]
    samples["entropy"].add(h)
    group = str(rec.group) if rec.group is not None else "None"
    by_group = samples["entropy_by_group"]
    by_group.setdefault(group, ReservoirSample(ENTROPY_SAMPLE, opts.seed + 2)).add(h)
