"""Extraction in this process: a model loaded and checked, a chunk extracted (:func:`extract_chunk`), and
:class:`LocalExtractor`, the models of this process extracting into a run's trace cache."""
from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING, Any, Callable

from reasongraph.models.head_entropy import check_head
from reasongraph.runs.records.record import Record
from reasongraph.runs.scoring.model_plan import ModelPlan
from reasongraph.trace.extraction.teacher_forced import extract, extract_batch

if TYPE_CHECKING:
    from reasongraph.runs.scoring.state import RunState

__all__ = ["LocalExtractor", "extract_chunk", "load_checked"]


def load_checked(plan: ModelPlan, unit: str, *, clusterer: Any = None) -> Any:
    """Load the model of ``unit`` and check that reasongraph can read it (and that a saved clusterer fits its
    hidden size): a model that cannot be scored fails the run at once, not as one error per record."""
    from reasongraph.graph.cluster.inputs import check_width

    lm = plan.load(unit)
    check_head(lm)
    check_width("clusterer", clusterer, lm.hidden_size, f"the model {unit}")
    return lm


def extract_chunk(lm: Any, texts: list[str], prompts: list[str | None], options: dict, *,
                  batch_size: int | None, skip: list[bool], exclude: list[bool] | None = None,
                  on_pass: Callable[[list[int], list[int]], None] | None = None
                  ) -> tuple[dict[int, Any], dict[int, Exception]]:
    """Extract one chunk of records (their texts and prompts) with one extract_batch call, as every engine does;
    if the call fails, each record not skipped alone, so the bad ones are found and the rest scored. Records
    marked in ``exclude`` (cached while they were sampled, :meth:`RunState.sampled`) are left out of the batch.

    ``options`` are a trace cache's options (:meth:`ScoreOptions.cache_options`). Returns ({position: lean
    trace} of the records not skipped, {position: exception} of those that failed alone). The traces are lean:
    the cache keeps what the passes need (step vectors and hidden-state summaries per layer, and with
    ``prefix_tokens`` the first layer's first hidden states), not every token's hidden state unless asked, so the
    analyses come out the same and the cache a thousand times smaller. ``on_pass(positions, tokens)``: called as
    each forward pass of the batch ends, with the positions (in ``texts``) of its records not skipped and their
    token counts: progress inside the batch.
    """
    kwargs = {k: v for k, v in options.items() if k not in ("keep_hidden", "prefix_tokens")}
    batch = [i for i in range(len(texts)) if not (exclude and exclude[i])]
    traces: dict[int, Any] = {}
    errors: dict[int, Exception] = {}

    def passed(indices: list[int], tokens: list[int]) -> None:
        fresh = [(batch[j], n) for j, n in zip(indices, tokens) if not skip[batch[j]]]
        if on_pass is not None and fresh:
            on_pass([i for i, _ in fresh], [n for _, n in fresh])
    with warnings.catch_warnings():
        # truncation is reported once per record (note_extracted), by line and id, not by position in the batch
        warnings.filterwarnings("ignore", message=".*dropped the last", category=UserWarning)
        try:
            traces = dict(zip(batch, extract_batch([texts[i] for i in batch], [prompts[i] for i in batch], model=lm,
                                                   batch_size=batch_size, on_pass=passed, **kwargs)))
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception:  # noqa: BLE001 - one bad record must not sink the batch: retry one at a time
            for i in batch:
                text, prompt = texts[i], prompts[i]
                if skip[i]:
                    continue  # accounted for already: only the others need isolating
                try:
                    traces[i] = extract(text, prompt, model=lm, **kwargs)
                except (KeyboardInterrupt, MemoryError):
                    raise
                except Exception as e:  # noqa: BLE001
                    errors[i] = e
    return {i: t.lean(keep_hidden=options["keep_hidden"], prefix_tokens=options.get("prefix_tokens", 0))
            for i, t in traces.items() if not skip[i]}, errors


class LocalExtractor:
    """The models of this process, one unit's at a time, extracting a run's records into its trace cache: the
    local engine's pass 1, and on any engine a trace that is gone from the cache when pass 2 needs it.

    ``loaded``: models loaded (and checked) before the run folder existed, adopted now."""

    def __init__(self, state: RunState, *, loaded: dict[str, Any] | None = None) -> None:
        self.state = state
        self._models: dict[str, Any] = {}  # the loaded model of the unit being extracted
        for unit, lm in (loaded or {}).items():
            self._adopt(unit, lm)

    def model(self, unit: str) -> Any:
        """The loaded model of ``unit`` (loaded now if needed; its identity is saved for later resumes). Models are
        held one at a time: loading one frees any other (pass 2 and the prompt rows reload a model only for a trace
        gone from the cache)."""
        if unit not in self._models:
            for other in list(self._models):
                self.release(other)
            t0 = time.perf_counter()
            lm = load_checked(self.state.plan, unit)
            self.state.timing.load_s += time.perf_counter() - t0
            self._adopt(unit, lm)
        return self._models[unit]

    def identity(self, unit: str) -> dict:
        """The identity of ``unit``'s model, loaded here (the run state's identity source)."""
        return self.model(unit).identity()

    def _adopt(self, unit: str, lm: Any) -> None:
        """Use ``lm`` for ``unit``: its identity must be the one the run started with (saved in models.json)."""
        self.state.timing.n_models_loaded += 1
        self._models[unit] = lm
        self.state.adopt_identity(unit, lm.identity())

    def release(self, unit: str) -> None:
        lm = self._models.pop(unit, None)
        if lm is not None:
            self.state.plan.release(unit, lm)

    def cached_trace(self, rec: Record) -> Any:
        """The cached trace of ``rec``; extracted again if the entry is gone or unreadable (None if that fails)."""
        state = self.state
        unit, t = state.plan.name_of(rec), state.temperature(rec)
        return self.cached_or_extract(unit, t, rec, state.cache(unit, t).key(rec.text, rec.prompt))

    def cached_or_extract(self, unit: str, t: float, rec: Record, key: str) -> Any:
        trace = self.state.read_trace(unit, t, key)
        if trace is None:
            trace = self.extract(unit, t, [rec], [key], skip=[False]).get(0)
        return trace

    def extract(self, unit: str, t: float, recs: list[Record], keys: list[str], *, skip: list[bool],
                exclude: list[bool] | None = None,
                on_pass: Callable[[list[int], list[int]], None] | None = None) -> dict[int, Any]:
        """Extract ``recs`` as one batch (:func:`extract_chunk`), record the failures, cache the others;
        {position: trace} of those not skipped. Skipped records (cached, or failed before) are extracted with the
        others, since the batch must not change, but neither returned nor cached again: the cached trace stays the
        one every pass uses. ``exclude``: records that are no part of the batch (recorded while sampled)."""
        state = self.state
        cache = state.cache(unit, t)
        t0 = time.perf_counter()
        out, errors = extract_chunk(self.model(unit), [r.text for r in recs], [r.prompt for r in recs],
                                    cache.options, batch_size=state.opts.batch_size, skip=skip, exclude=exclude,
                                    on_pass=on_pass)
        state.timing.extract_s += time.perf_counter() - t0
        for i, e in errors.items():
            state.record_error(recs[i], state.reason(e), exc=e)
        for i, trace in out.items():
            state.note_extracted(recs[i], trace.meta.get("tokens_dropped", 0), len(trace.input_ids))
            cache.put(keys[i], trace)
        return out
