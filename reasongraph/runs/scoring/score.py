"""Batch scoring of a dataset of traces: :func:`score_dataset`, in two passes like the Topology of Reasoning paper.

Pass 1 extracts every record and caches each :class:`~reasongraph.trace.trace.Trace` on disk, keeping only the step
vectors (and a sample of token entropies) in memory. Then one clustering is fitted per clustering unit (each
model by default) over the steps of its records, or a saved one is reused. Pass 2 labels each cached trace and
computes every metric with :func:`~reasongraph.analysis.one_trace.analyze_trace`, appending one row per record to
``rows.jsonl``. Records that cannot be scored go to ``errors.jsonl``; rows + errors = records, always.

Several models. ``model`` may map groups to models (``{"base": "Qwen/...", "rl": "..."}``, ``"*"`` for every
other group), or ``model_field`` may name each record's model in the data; then each group's traces are run
through the model that wrote them, which makes the token entropy the policy's own (the faithful comparison of
the seed question). Models load one at a time: a model's records are extracted, then it is freed, so two large
models are never in memory together. Hidden states of different models never meet in one clustering.

Resuming (the same call after Ctrl-C or ``kill -9``): records whose line is in rows.jsonl or errors.jsonl are done.
If the kill came during pass 1 (no fit.json yet), pass 1 runs again over all records, reading the extracted ones
from the cache in file order, so the clustering is fitted on exactly the same step vectors and comes out the same.
If it came during pass 2, the saved clusterers are reused and pass 2 continues with the next record not done. A
model is not even loaded when every one of its records is in the cache. Either way the rows equal those of an
uninterrupted run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from reasongraph.core.options import given_or_keywords, split_keywords
from reasongraph.runs.records.options import ReadOptions
from reasongraph.runs.records.reader import RecordReader
from reasongraph.runs.scoring.options import EngineOptions, ScoreOptions
from reasongraph.runs.scoring.run import run_scoring

__all__ = ["resolve_score_options", "score_dataset"]


def score_dataset(path: str | Path, *, out: str | Path, model: Any = None, options: ScoreOptions | None = None,
                  read: ReadOptions | None = None, engine: Any = EngineOptions.engine, device: Any = None,
                  dtype: Any = None, clusterer: Any = None, progress: bool = True, **keywords: Any) -> list[dict]:
    """Score every trace of a dataset; write a resumable run folder; return the rows.

    The options come as objects (``options``: :class:`~reasongraph.runs.scoring.options.ScoreOptions`, ``read``:
    :class:`~reasongraph.runs.records.options.ReadOptions`, ``engine``: a name, an Engine or
    :class:`~reasongraph.runs.scoring.options.EngineOptions`) or as their keywords (``k=8, group_field="g",
    workers=2``), not both; docs/options.md lists them all.

    Parameters
    ----------
    path : JSONL, CSV/TSV, Parquet file, or a folder saved by ``datasets`` (see :mod:`reasongraph.runs.records`).
    out : the run folder (see :mod:`reasongraph.runs.folder` for its layout). Rerunning into it resumes; a rerun with
        other options is refused.
    model : a LoadedModel, a spec for :func:`~reasongraph.models.sources.load_model`, None for the default model, or a
        mapping {group: model} (key ``"*"``: every other group) so that each group is scored by its own model.
    model_field : instead of ``model``, the field naming each record's model (a spec to load).
    text_field, prompt_field, id_field, group_field, pair_field : field names in the input; the default id
        field ``"id"`` may be absent (records are then known by line number).
    sample_group_field : the field several samples of one prompt share (e.g. ``prompt_id`` from
        :func:`reasongraph.runs.generate`); the run then writes diversity.jsonl, one row per prompt with the diversity
        of its samples (:func:`reasongraph.analysis.samples.diversity.diversity_metrics`), and summary.json their
        group means.
    temperature_field, policy_field : for on-policy samples (e.g. from :func:`reasongraph.runs.generate`, whose
        records carry ``temperature`` and ``model``): each record is scored at the temperature it was sampled at,
        and rows get ``on_policy``, true when the record's policy is the model that scored it, so the token
        entropy is the policy's own.
    limit : score only the first ``limit`` records of the input.
    layers, segment, prompt_format, temperature, truncate : extraction options, as
        :func:`~reasongraph.trace.extraction.teacher_forced.extract`. The first layer gives the step vectors; with
        several, each is clustered on its own and rows get each further layer's graph metrics as "<name>@<layer>" (layer
        columns, across depth as the paper's 0.1..0.9; summary.json's "layers" has the detection ratio by layer).
    device, dtype : where and how models given by spec are loaded (see :func:`~reasongraph.models.sources.load_model`).
    clusterer : None fits clusterings over the steps of the dataset; a path (or a fitted clusterer) reuses one
        (a single model only).
    k, method : the clustering to fit. ``k="auto"`` (default): K = n // 3 of the n steps a clusterer is fitted
        on, at least 2, at most the paper's 200 (the single-trace rule; docs/choosing_k.md has the evidence). A
        whole number is taken as given, lowered to the steps when there are fewer. With several clustering units
        the unit with the most steps gets that K and unit g gets K_g = round(n_steps_g / c), c set so that unit
        keeps its K: a fixed K would give the unit with more steps more revisits by construction. fit.json and
        summary.json hold each K with its reason (``k_rule``); a K above a third of the fitted steps is warned
        about (logged, and in summary.json's ``notes``). A run folder started with a whole-number K resumes only
        with that K.
    cluster_by : "model" (default: groups scored by one model share its clustering) or "group" (one per group).
    fit_sample : fit each clustering on a seeded uniform sample of at most this many step vectors.
    rho, forking_threshold, rule, onset_tokens, lookback, n_shifts : alignment options of
        :func:`~reasongraph.analysis.one_trace.analyze_trace`. Each row also gets ``forking_share_pooled``, the share
        of the trace's tokens at or above one run-wide top-``rho`` threshold (from a seeded sample of at most 2M
        tokens), or strictly above ``forking_threshold``, and ``forking_share_by_group``, the same against each
        group's own pooled threshold (``compare`` reads the reference group's as ``forking_share_ref``).
    batch_size : at most this many records per extract_batch call (None: 16, fewer once a call holds 32k
        characters). Part of the run's identity, with the device: padded batches change hidden states in the
        last bits, so a resumed run must batch exactly as the first one did.
    cache_dir : where extracted traces are cached (default ``out/traces``); may be shared between runs.
    keep_hidden : also cache every token's hidden states (float16). By default the cache keeps what the passes
        need, each layer's step vectors and hidden-state summary: 133 KiB per 1k tokens for SmolLM2 against
        2,298 with float32 hidden states (measured on examples/trace.txt), with the same rows.
    on_error : "skip" writes bad records to errors.jsonl and goes on; "fail" raises InputError at the first.
    seed : seeds the clustering, the fit sample, the bootstrap CIs and the alignment permutation test.
    progress : show progress on stderr (a bar on a terminal, log lines elsewhere).
    engine : "local" (this process) or "ray": both passes spread over a Ray cluster (the extra
        ``reasongraph[ray]``; see :mod:`reasongraph.runs.engines.ray`), with the same rows. Not part of the
        run's identity: a run begun on one engine resumes on the other. On a cluster of several nodes the trace
        cache (``cache_dir``, or ``out/traces``) must be an absolute path on a filesystem every node mounts.
    workers : with engine="ray", the extraction actors (default: one per GPU, one per node without GPUs).
    ray_address : with engine="ray", the cluster to join (default: the one RAY_ADDRESS names, else the one
        ``ray start`` started on this machine, else a new local one).

    Returns
    -------
    list of row dicts, as in rows.jsonl (input order).

    Raises
    ------
    InputError : a bad option, missing input, unknown field, a group without a model, a run folder holding other
        options or written by another process, a clusterer of another hidden size, or (``on_error="fail"``) the
        first bad record. Every check runs before any model is loaded or any file is written.
    """
    opts, read, engine_options = resolve_score_options(options, read, engine, keywords)
    reader = RecordReader(path, **read.reader_keywords())
    return run_scoring(path, reader, opts, engine=engine_options.engine, workers=engine_options.workers,
                       ray_address=engine_options.ray_address, out=out, model=model, model_field=read.model_field,
                       limit=read.limit, device=device, dtype=dtype, clusterer=clusterer, cache_dir=opts.cache_dir,
                       sample_group_field=read.sample_group_field, progress=progress)


def resolve_score_options(options: ScoreOptions | None, read: ReadOptions | None, engine: Any,
                          keywords: dict) -> tuple[ScoreOptions, ReadOptions, EngineOptions]:
    """score_dataset's options, from objects or keywords (not both for one class), checked; an unknown keyword is
    a TypeError naming the closest option."""
    score_kw, read_kw, engine_kw = split_keywords(keywords, ScoreOptions, ReadOptions, EngineOptions,
                                                  where="score_dataset")
    if isinstance(engine, EngineOptions):
        given_engine = engine
    else:
        given_engine = None
        engine_kw = {"engine": engine, **engine_kw}
    return (given_or_keywords(ScoreOptions, options, score_kw, "options"),
            given_or_keywords(ReadOptions, read, read_kw, "read"),
            given_or_keywords(EngineOptions, given_engine, engine_kw, "engine"))

