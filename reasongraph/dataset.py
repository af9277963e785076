"""Batch scoring of a dataset of traces: :func:`score_dataset`, two passes like the Topology of Reasoning paper.

Pass 1 extracts every record (batched) and caches each :class:`~reasongraph.trace.Trace` on disk, keeping only
the step vectors in memory; one clustering is then fitted over the steps of all records (or a saved one reused)
and saved into the run folder. Pass 2 labels each cached trace with that clustering and computes every metric
with :func:`~reasongraph.analysis.analyze_trace`, appending one row per record to ``rows.jsonl``. Records that
cannot be scored go to ``errors.jsonl``; rows + errors = records in the input, always.

Resuming (same command after Ctrl-C or ``kill -9``): records whose line is in rows.jsonl or errors.jsonl are done
and skipped. If the kill came during pass 1 (no ``clusterer.npz`` yet), pass 1 runs again over all records, reading
the ones already extracted from the cache, in file order, so the clustering is fitted on exactly the same step
vectors in the same order and comes out the same (KMeans is seeded; ``--fit-sample`` draws its sample from a
seeded generator in file order). If the kill came during pass 2, the saved clusterer (written atomically, after
``fit.json``) is reused, rows appended so far are kept, and pass 2 continues with the next record not done.
Either way the rows equal those of an uninterrupted run.

Memory is flat in the number of records except for the step vectors held for the fit (n_steps x d float32 over
the whole dataset); ``fit_sample=N`` bounds that to N vectors, a uniform sample without replacement.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reasongraph.errors import InputError
from reasongraph.progress import Progress
from reasongraph.records import Record, RecordReader
from reasongraph.runstore import RunStore, TraceCache, atomic_write, atomic_write_json, read_jsonl

ENTROPY_SAMPLE = 2_000_000  # token entropies kept (a seeded uniform sample) for the pooled forking threshold
_DEFAULT_CHUNK = 16  # records per extract_batch call when batch_size is None
CHUNK_CHARS = 32_768  # ... or fewer, once a chunk holds this many characters of text and prompt
_PARQUET_CHUNK = 5000


# ---------------------------------------------------------------------- seeded streaming sample
class _StreamSample:
    """A uniform sample without replacement of at most ``cap`` rows from a stream, in stream order.

    Every row gets a priority from a seeded generator as it arrives; the sample is the ``cap`` rows of lowest
    priority (a bottom-k sample), so it depends only on the stream and the seed, never on when it is compacted.
    ``cap=None`` keeps everything.
    """

    def __init__(self, cap: int | None, seed: int) -> None:
        self.cap = cap
        self.rng = np.random.default_rng(seed)
        self.parts: list[np.ndarray] = []
        self.prio: list[np.ndarray] = []
        self.pos: list[np.ndarray] = []
        self.n_seen = 0
        self._n_held = 0

    def add(self, rows: np.ndarray) -> None:
        n = len(rows)
        self.parts.append(rows)
        if self.cap is not None:
            self.prio.append(self.rng.random(n))
            self.pos.append(np.arange(self.n_seen, self.n_seen + n))
            self._n_held += n
            if self._n_held > 2 * self.cap:
                self._compact()
        self.n_seen += n

    def _compact(self) -> None:
        rows, prio, pos = np.concatenate(self.parts), np.concatenate(self.prio), np.concatenate(self.pos)
        if len(rows) > self.cap:
            keep = np.sort(np.argpartition(prio, self.cap - 1)[:self.cap])  # sorted: stream order
            rows, prio, pos = rows[keep], prio[keep], pos[keep]
        self.parts, self.prio, self.pos, self._n_held = [rows], [prio], [pos], len(rows)

    def values(self) -> np.ndarray:
        if not self.parts:
            return np.zeros(0)
        if self.cap is not None:
            self._compact()
        return np.concatenate(self.parts)


# ---------------------------------------------------------------------- options and context
@dataclass
class _Timing:
    """Seconds spent per stage in this invocation (a resumed run counts only its own work)."""

    extract_s: float = 0.0
    cache_load_s: float = 0.0
    fit_s: float = 0.0
    analyze_s: float = 0.0
    write_s: float = 0.0
    n_extracted: int = 0
    n_extracted_tokens: int = 0
    n_analyzed: int = 0
    n_analyzed_tokens: int = 0


@dataclass
class _Run:
    """What both passes share."""

    reader: RecordReader
    store: RunStore
    cache: TraceCache
    lm: Any
    extract_opts: dict
    on_error: str
    chunk: int
    batch_size: int | None
    done: set[int]
    total: int
    log: Callable[[str], None]
    progress: bool
    timing: _Timing = field(default_factory=_Timing)


def score_dataset(path: str | Path, model: Any = None, text_field: str = "trace", prompt_field: str | None = None,
                  id_field: str | None = "id", group_field: str | None = None, pair_field: str | None = None,
                  out: str | Path = "runs/x", layers: Sequence[int | float] = (0.9,), segment: str = "newline",
                  prompt_format: str = "raw", clusterer: Any = None, k: int = 200, method: str = "kmeans",
                  fit_sample: int | None = None, batch_size: int | None = None, on_error: str = "skip",
                  seed: int = 0, *, temperature: float = 1.0, truncate: bool = False, limit: int | None = None,
                  cache_dir: str | Path | None = None, rho: float = 0.2, forking_threshold: float | None = None,
                  window: int = 0, n_shifts: int = 1000, progress: bool = True,
                  log: Callable[[str], None] | None = None) -> list[dict]:
    """Score every trace of a dataset; write a resumable run folder; return the rows.

    Parameters
    ----------
    path : JSONL, CSV/TSV, Parquet file, or a folder saved by ``datasets`` (see :mod:`reasongraph.records`).
    model : a LoadedModel, a spec for :func:`~reasongraph.models.load_model`, or None for the default model.
    text_field, prompt_field, id_field, group_field, pair_field : field names in the input; the default id
        field ``"id"`` may be absent (records are then known by line number).
    out : the run folder: manifest.json, rows.jsonl, rows.parquet, errors.jsonl, summary.json, fit.json,
        clusterer.npz, traces/ (the extraction cache). Rerunning into it resumes; other options are refused.
    layers, segment, prompt_format, temperature, truncate : extraction options, as
        :func:`~reasongraph.extraction.extract`; the first layer gives the step vectors.
    clusterer : None fits one over all steps of the dataset; a path (or a fitted clusterer) reuses it.
    k, method : the clustering to fit (K is lowered to the number of steps when there are fewer).
    fit_sample : fit on a seeded uniform sample of at most this many step vectors (memory and time bound).
    batch_size : at most this many records per extract_batch call (None: 16; a call also ends once it holds
        32k characters; the extractor pads within its token budget). Part of the run's identity, with the
        device: padded batches change hidden states in the last bits, so a resumed run must batch exactly as the
        first one did.
    on_error : "skip" writes bad records to errors.jsonl and goes on; "fail" raises InputError at the first.
    seed : seeds the clustering, the fit sample, the bootstrap CIs and the alignment permutation test.
    limit : score only the first ``limit`` records of the input.
    cache_dir : where extracted traces are cached (default ``out/traces``); may be shared between runs.
    rho, forking_threshold, window, n_shifts : alignment options of
        :func:`~reasongraph.analysis.analyze_trace`. Besides its per-trace ``forking_share`` (top ``rho`` of
        each trace, about ``rho`` by construction), each row gets ``forking_share_pooled``: the share of the
        trace's tokens at or above one run-wide threshold (the top-``rho`` entropy threshold of all tokens of
        the run, from a seeded sample of at most 2M tokens), or strictly above ``forking_threshold`` when given;
        that is the share to compare between models.
    progress : show progress on stderr (a bar on a terminal, log lines elsewhere).
    log : where one-line messages about skipped records go (default: stderr).

    Returns
    -------
    list of row dicts, as in rows.jsonl (input order).

    Raises
    ------
    InputError : missing input, unknown field, a run folder holding other options, or (``on_error="fail"``)
        the first bad record.
    """
    if on_error not in ("skip", "fail"):
        raise InputError(f"on_error must be 'skip' or 'fail', got {on_error!r}")
    if method not in ("kmeans", "hdbscan"):
        raise InputError(f"method must be 'kmeans' or 'hdbscan', got {method!r}")
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    if fit_sample is not None and fit_sample < 1:
        raise InputError(f"fit_sample must be >= 1, got {fit_sample}")
    if batch_size is not None and batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    if not 0 < rho < 1:
        raise InputError(f"rho must be between 0 and 1, got {rho}")
    reader = RecordReader(path, text_field=text_field, prompt_field=prompt_field, id_field=id_field,
                          group_field=group_field, pair_field=pair_field, limit=limit)
    clusterer_sha = None
    if isinstance(clusterer, (str, Path)):
        from reasongraph.cluster import load_clusterer

        load_clusterer(clusterer)  # a missing or unreadable file fails now, before any work
        clusterer_sha = _file_sha256(Path(clusterer))
    elif clusterer is not None:
        clusterer_sha = "object"

    from reasongraph.extraction import resolve_layers, resolve_model
    from reasongraph.vocab_entropy import check_head

    lm = resolve_model(model)
    check_head(lm)  # a model reasongraph cannot read fails the run here, not as an error per record
    layer_ids = list(resolve_layers(layers, lm.num_layers))
    extract_opts = {"layers": layer_ids, "segment": segment, "temperature": float(temperature),
                    "prompt_format": prompt_format, "truncate": bool(truncate)}
    options = {
        "input": str(Path(path).resolve()), "input_sha256": _input_sha256(Path(path)), "format": reader.format,
        "fields": reader.fields, "limit": limit, "model": lm.name, "dtype": str(lm.dtype),
        "device": _model_key(lm)["device"], "batch_size": batch_size, **extract_opts,
        "clusterer": clusterer_sha, "method": method, "k": k, "fit_sample": fit_sample, "seed": seed, "rho": rho,
        "forking_threshold": forking_threshold, "window": window, "n_shifts": n_shifts,
    }
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    with RunStore(out, options) as store:
        cache = TraceCache(cache_dir or store.dir / "traces", _model_key(lm), extract_opts)
        run = _Run(reader=reader, store=store, cache=cache, lm=lm, extract_opts=extract_opts, on_error=on_error,
                   chunk=batch_size or _DEFAULT_CHUNK, batch_size=batch_size, done=store.done_lines(),
                   total=reader.count(), log=log, progress=progress)
        fit = _load_fit(store)
        if fit is None:
            vectors, entropies = _pass1(run, fit_sample, seed)
            fit = _fit(run, vectors, entropies, clusterer, method, k, seed, rho, forking_threshold)
            del vectors, entropies
        from reasongraph.cluster import load_clusterer

        clu = load_clusterer(store.clusterer_path) if fit["has_clusterer"] else None
        _pass2(run, clu, fit, rho=rho, forking_threshold=forking_threshold, window=window, n_shifts=n_shifts,
               seed=seed)
        rows = list(store.rows())
        t0 = time.perf_counter()
        _write_parquet(store.rows_path, store.dir / "rows.parquet")
        run.timing.write_s += time.perf_counter() - t0
        atomic_write_json(store.dir / "summary.json", _summary(run, rows, fit, seed))
    return rows


# ---------------------------------------------------------------------- a finished run's analyses
def run_analyses(out: str | Path, rows: Iterable[Mapping[str, Any]], cache_dir: str | Path | None = None
                 ) -> dict[int, Any]:
    """Analyses behind chosen rows of a scored run, rebuilt from its trace cache and clusterer; no model needed.

    ``rows`` are rows of the run (dicts as in rows.jsonl); the result maps each row's ``line`` to an Analysis equal
    to the one its metrics came from (the same cached trace, clustering and options), so a report can embed the
    traces it ranks. ``cache_dir`` defaults to the cache the run used. Rows whose trace cannot be read back (the
    cache entry is gone, or the row predates ``trace_key``) are left out, as is everything when the run folder
    lacks its manifest or clusterer.
    """
    from reasongraph.analysis import analyze_trace
    from reasongraph.cluster import load_clusterer
    from reasongraph.trace import Trace

    out = Path(out)
    rows = [r for r in rows if r.get("trace_key") and r.get("line") is not None]
    try:
        options = json.loads((out / "manifest.json").read_text())["options"]
        fit = json.loads((out / "fit.json").read_text())
        clu = load_clusterer(out / "clusterer.npz") if fit["has_clusterer"] else None
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    cache = Path(cache_dir) if cache_dir is not None else _trace_cache_dir(out)
    analyses = {}
    for row in rows:
        try:
            trace = Trace.load(TraceCache.entry_path(cache, row["trace_key"]))
        except (OSError, ValueError):
            continue
        analyses[int(row["line"])] = analyze_trace(trace, clu, rho=options["rho"], seed=options["seed"],
                                                   threshold=options["forking_threshold"],
                                                   window=options["window"], n_shifts=options["n_shifts"])
    return analyses


def _trace_cache_dir(out: Path) -> Path:
    """The cache folder a finished run recorded in summary.json (relative to the run when inside it)."""
    try:
        recorded = json.loads((out / "summary.json").read_text()).get("trace_cache")
    except (OSError, ValueError, AttributeError):
        recorded = None
    if recorded and (out / recorded).is_dir():  # an absolute recorded path stays as it is under /
        return out / recorded
    return out / "traces"


def _cache_location(run: _Run) -> str:
    cache, out = run.cache.dir.resolve(), run.store.dir.resolve()
    return str(cache.relative_to(out)) if cache.is_relative_to(out) else str(cache)


# ---------------------------------------------------------------------- identities
def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _input_sha256(path: Path) -> str:
    """Content hash of the input (every file of a saved-dataset folder), so a changed input is not resumed."""
    if path.is_file():
        return _file_sha256(path)
    h = hashlib.sha256()
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        h.update(str(p.relative_to(path)).encode() + b"\0" + _file_sha256(p).encode())
    return h.hexdigest()


def _model_key(lm: Any) -> dict:
    """What identifies the model's outputs for the cache: name, dtype, device type and the full config."""
    config = getattr(lm.model, "config", None)
    text = config.to_json_string(use_diff=False) if hasattr(config, "to_json_string") else repr(config)
    return {"name": lm.name, "dtype": str(lm.dtype), "device": getattr(lm.device, "type", str(lm.device)),
            "config": hashlib.sha256(text.encode()).hexdigest()}


# ---------------------------------------------------------------------- errors
def _record_error(run: _Run, rec: Record, reason: str, exc: BaseException | None = None) -> None:
    """Write a record's error (once) and say so; with on_error="fail" stop here."""
    if rec.line not in run.done:
        run.store.append_error({"line": rec.line, "id": rec.id, "reason": reason})
        run.done.add(rec.line)
    msg = f"{rec.where()}: {reason}"
    if run.on_error == "fail":
        if exc is not None and not isinstance(exc, (InputError, ValueError)):
            raise exc
        raise InputError(f"{run.reader.path}: {msg} (use --on-error skip to skip bad records)")
    run.log(f"reasongraph score: skipped {msg}")


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, InputError) else f"{type(exc).__name__}: {text}"


# ---------------------------------------------------------------------- pass 1: extract and cache
def _pass1(run: _Run, fit_sample: int | None, seed: int) -> tuple[_StreamSample, _StreamSample]:
    """Extract and cache every record; return the samples of step vectors and token entropies for the fit.

    Records are extracted in chunks of consecutive valid records: ``run.chunk`` of them, or fewer once they hold
    ``CHUNK_CHARS`` characters (so progress moves on long traces). The chunks depend only on the input and are the
    same on every run (records that failed before included), because padded batches change hidden states in the
    last bits: a resumed run must batch exactly as an uninterrupted one would.
    """
    vectors = _StreamSample(fit_sample, seed)
    entropies = _StreamSample(ENTROPY_SAMPLE, seed + 1)
    chunk: list[Record] = []
    chunk_chars = 0
    with Progress(run.total, "pass 1/2 extract", enabled=run.progress) as bar:
        for rec in run.reader:
            if not rec.ok:
                if rec.line not in run.done:
                    _record_error(run, rec, rec.error)
                bar.skip()
                continue
            chunk.append(rec)
            chunk_chars += len(rec.text) + len(rec.prompt or "")
            if len(chunk) >= run.chunk or chunk_chars >= CHUNK_CHARS:
                _extract_chunk(run, chunk, vectors, entropies, bar)
                chunk, chunk_chars = [], 0
        _extract_chunk(run, chunk, vectors, entropies, bar)
    return vectors, entropies


def _extract_chunk(run: _Run, chunk: list[Record], vectors: _StreamSample, entropies: _StreamSample,
                   bar: Progress) -> None:
    """Extract one chunk unless all of it is cached (or failed before), then feed each record's step vectors
    and entropies to the samples in file order, cached or not, so a resumed fit sees the same data."""
    keys = [run.cache.key(r.text, r.prompt) for r in chunk]
    failed_before = [rec.line in run.done for rec in chunk]
    missing = [not failed and not run.cache.has(key) for failed, key in zip(failed_before, keys)]
    fresh = _extract(run, chunk, keys, skip_cached=True) if any(missing) else {}
    for i, (rec, key) in enumerate(zip(chunk, keys)):
        if failed_before[i]:
            bar.skip()
            continue
        trace = fresh.get(i)
        if trace is not None:
            bar.update(tokens=len(trace.input_ids))
        elif rec.line in run.done:  # its extraction failed just now
            bar.update()
            continue
        else:
            trace = _cached_trace(run, rec, key)
            if trace is None:
                bar.update()
                continue
            bar.skip()
        vectors.add(trace.step_vectors())
        h = np.asarray(trace.entropy, dtype=np.float64)
        entropies.add(h[np.isfinite(h)])


def _cached_trace(run: _Run, rec: Record, key: str) -> Any:
    """The cached trace of ``rec``; extracted again if the entry is gone or unreadable (None if that fails)."""
    t0 = time.perf_counter()
    trace = run.cache.get(key)
    run.timing.cache_load_s += time.perf_counter() - t0
    if trace is None:
        trace = _extract(run, [rec], [key]).get(0)
    return trace


def _extract(run: _Run, recs: list[Record], keys: list[str], skip_cached: bool = False) -> dict[int, Any]:
    """Extract ``recs`` (one batch; one at a time if the batch fails) and cache each; {position in recs: trace}.

    With ``skip_cached``, records already in the cache are extracted with the others (the batch must not change)
    but neither returned nor cached again: the cached trace stays the one every pass uses.
    """
    if not recs:
        return {}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        # truncation is reported once per record below, by line and id, instead of by position in the batch
        warnings.filterwarnings("ignore", message=".*dropped the last", category=UserWarning)
        out = _extract_or_isolate(run, recs, keys, skip_cached)
    run.timing.extract_s += time.perf_counter() - t0
    if skip_cached:
        out = {i: trace for i, trace in out.items() if not run.cache.has(keys[i])}
    for i, trace in out.items():
        dropped = trace.meta.get("tokens_dropped", 0)
        if dropped:
            run.log(f"reasongraph score: {recs[i].where()}: truncated: dropped the last {dropped} tokens to fit "
                    "the model's context")
        run.cache.put(keys[i], trace)
        run.timing.n_extracted += 1
        run.timing.n_extracted_tokens += len(trace.input_ids)
    return out


def _extract_or_isolate(run: _Run, recs: list[Record], keys: list[str], skip_cached: bool) -> dict[int, Any]:
    """One extract_batch call; if it fails, each record alone, so the bad ones are found and the rest scored."""
    from reasongraph.extraction import extract, extract_batch

    out: dict[int, Any] = {}
    try:
        traces = extract_batch([r.text for r in recs], [r.prompt for r in recs], model=run.lm,
                               batch_size=run.batch_size, **run.extract_opts)
        out = dict(enumerate(traces))
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception:  # noqa: BLE001 - one bad record must not sink the batch: retry one at a time
        for i, rec in enumerate(recs):
            if skip_cached and (rec.line in run.done or run.cache.has(keys[i])):
                continue  # accounted for already: only the others need isolating
            try:
                out[i] = extract(rec.text, rec.prompt, model=run.lm, **run.extract_opts)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # noqa: BLE001
                _record_error(run, rec, _reason(e), e)
    return out


# ---------------------------------------------------------------------- the fit
def _load_fit(store: RunStore) -> dict | None:
    """fit.json of a run whose pass 1 finished (it is written last, after the clusterer), else None."""
    path = store.dir / "fit.json"
    if not path.exists():
        return None
    fit = json.loads(path.read_text())
    if fit.get("has_clusterer") and not store.clusterer_path.exists():
        return None
    return fit


def _fit(run: _Run, vectors: _StreamSample, entropies: _StreamSample, clusterer: Any, method: str, k: int,
         seed: int, rho: float, forking_threshold: float | None) -> dict:
    """Fit (or take) the clusterer and the pooled forking threshold; save clusterer.npz, then fit.json."""
    from reasongraph.cluster import fit_clusterer, load_clusterer
    from reasongraph.signals import forking_threshold as top_share_threshold

    t0 = time.perf_counter()
    X = vectors.values()
    h = entropies.values()
    if forking_threshold is not None:
        threshold, rule = float(forking_threshold), ">"
    else:
        threshold, rule = (top_share_threshold(h, rho) if h.size else math.nan), ">="
    fit = {"n_steps": int(vectors.n_seen), "n_fit_steps": int(len(X)), "method": method, "k": None,
           "clusterer_source": None, "forking_threshold": threshold, "forking_rule": rule,
           "n_entropy_tokens": int(entropies.n_seen), "n_entropy_sample": int(h.size)}
    clu = None
    if clusterer is None:
        if len(X):
            fit["k"] = min(k, len(X))
            clu = fit_clusterer(X, method=method, k=fit["k"], random_state=seed)
            fit["clusterer_source"] = "fitted"
    else:
        clu = load_clusterer(clusterer) if isinstance(clusterer, (str, Path)) else clusterer
        fit["clusterer_source"] = str(clusterer) if isinstance(clusterer, (str, Path)) else "given"
        fit["k"] = getattr(clu, "k", None)
    if clu is not None:
        atomic_write(run.store.clusterer_path, clu.save, suffix=".npz")
    fit["has_clusterer"] = clu is not None
    run.timing.fit_s += time.perf_counter() - t0
    atomic_write_json(run.store.dir / "fit.json", fit)  # last: marks pass 1 and the fit as done
    return fit


# ---------------------------------------------------------------------- pass 2: label, analyze, append rows
def _pass2(run: _Run, clu: Any, fit: dict, *, rho: float, forking_threshold: float | None, window: int,
           n_shifts: int, seed: int) -> None:
    from reasongraph.analysis import analyze_trace

    # analyze_trace limits BLAS to one thread itself (see there)
    with Progress(run.total, "pass 2/2 analyze", enabled=run.progress) as bar:
        for rec in run.reader:
            if rec.line in run.done:
                bar.skip()
                continue
            if not rec.ok:
                _record_error(run, rec, rec.error)
                bar.update()
                continue
            key = run.cache.key(rec.text, rec.prompt)
            trace = _cached_trace(run, rec, key)
            if trace is None:
                bar.update()
                continue
            t0 = time.perf_counter()
            try:
                analysis = analyze_trace(trace, clu, rho=rho, threshold=forking_threshold, window=window,
                                         n_shifts=n_shifts, seed=seed)
            except (KeyboardInterrupt, MemoryError):
                raise
            except Exception as e:  # noqa: BLE001 - one record's failure is that record's error
                run.timing.analyze_s += time.perf_counter() - t0
                _record_error(run, rec, f"analysis failed: {_reason(e)}", e)
                bar.update()
                continue
            row = _row(rec, trace, analysis.metrics, fit, key)
            run.timing.analyze_s += time.perf_counter() - t0
            run.timing.n_analyzed += 1
            run.timing.n_analyzed_tokens += trace.n_tokens
            run.store.append_row(row)
            run.done.add(rec.line)
            bar.update(tokens=trace.n_tokens)


def _row(rec: Record, trace: Any, metrics: dict, fit: dict, trace_key: str) -> dict:
    """One output row: identity, token counts, every metric, the pooled forking share, and the trace's cache key."""
    row: dict[str, Any] = {"line": rec.line, "id": rec.id, "group": rec.group, "pair": rec.pair,
                           "trace_key": trace_key, "n_prompt_tokens": int(trace.prompt_len),
                           "n_tokens_dropped": int(trace.meta.get("tokens_dropped", 0))}
    row.update(metrics)
    h = np.asarray(trace.entropy, dtype=np.float64)
    h = h[np.isfinite(h)]
    thr = fit["forking_threshold"]
    if h.size and thr is not None and not math.isnan(thr):
        row["forking_share_pooled"] = float(np.mean(h > thr) if fit["forking_rule"] == ">" else np.mean(h >= thr))
    else:
        row["forking_share_pooled"] = math.nan
    return {k: _jsonable(v) for k, v in row.items()}


def _jsonable(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v


# ---------------------------------------------------------------------- outputs
def _parquet_type(kinds: set[type]):
    import pyarrow as pa

    if kinds <= {bool}:
        return pa.bool_()
    if kinds <= {int}:
        return pa.int64()
    if kinds <= {int, float}:
        return pa.float64()
    return pa.string()  # strings, and lists / dicts / mixed values as JSON text


def _write_parquet(rows_path: Path, out_path: Path) -> Path | None:
    """rows.jsonl -> rows.parquet in chunks (flat memory), one typed column per field; None without pyarrow."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    kinds: dict[str, set[type]] = {}
    for row in read_jsonl(rows_path):
        for key, v in row.items():
            kinds.setdefault(key, set())
            if v is not None:
                kinds[key].add(type(v))
    schema = pa.schema([(key, _parquet_type(kind)) for key, kind in kinds.items()])
    text_cols = {key for key in kinds if schema.field(key).type == pa.string()}

    def chunks() -> Iterator[list[dict]]:
        chunk = []
        for row in read_jsonl(rows_path):
            chunk.append({key: (_as_text(row.get(key)) if key in text_cols else row.get(key)) for key in kinds})
            if len(chunk) >= _PARQUET_CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema) as writer:
            for chunk in chunks():
                writer.write_batch(pa.RecordBatch.from_pylist(chunk, schema=schema))

    return atomic_write(out_path, write, suffix=".parquet")


def _as_text(v: Any) -> str | None:
    return v if v is None or isinstance(v, str) else json.dumps(v)


def _summary(run: _Run, rows: list[dict], fit: dict, seed: int) -> dict:
    from dataclasses import asdict

    from reasongraph.compare import summarize

    n_errors = sum(1 for _ in run.store.errors())
    has_groups = any(r.get("group") is not None for r in rows)
    return {
        "n_records": run.total, "n_rows": len(rows), "n_errors": n_errors,
        "complete": len(rows) + n_errors == run.total,
        "fit": fit,
        "trace_cache": _cache_location(run),
        "overall": summarize(rows, group_key=None, seed=seed).get("all") if rows else None,
        "groups": summarize(rows, group_key="group", seed=seed) if has_groups else {},
        "timing": asdict(run.timing),
    }
