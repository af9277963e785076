"""On-policy sampling: N samples of each prompt from the model that will score them, with its own token entropy.

A comparison of two policies is faithful only when each policy's traces are scored by that policy (see "The seed
question, measured" in the README); traces written by someone else measure the scorer's surprise at the text.
:func:`generate`
samples traces with :func:`reasongraph.trace.sampling.decode.sample_rows` (softmax(z / T), top-p when asked, each row
from its own random stream) and records, for every generated token, the policy's entropy at the sampling temperature:
H_i of softmax(z_i / T) over the whole vocabulary, in nats, from the raw logits z_i of that step. Top-p is left out of
H on purpose: it changes which token is drawn, not the policy whose entropy the token level measures
(docs/metrics.md), and it is what teacher-forced scoring (:func:`~reasongraph.trace.extraction.teacher_forced.extract`
at the same T) computes.

With ``score=True`` the sampling pass also keeps each token's log-prob and the chosen layers' hidden states, and
writes each sample as the trace-cache entry that ``score`` of the written file looks up (the same model,
temperature, layers, segmenter and prompt format; see :mod:`reasongraph.trace.sampling.recorded`): scoring the samples
then runs no forward pass.

Files, for ``out="traces.jsonl"``:

- ``traces.jsonl``: one JSON line per sample, read as it is by ``reasongraph score traces.jsonl --prompt-field
  prompt`` (with the same ``--model``, ``--temperature`` and ``--prompt-format``). Fields: ``id``
  (``"<prompt id>/s<k>"``), ``prompt_id``, ``sample`` (k), ``prompt``, ``trace`` (the generated text, decoded
  without special tokens), ``model``, ``temperature``, ``top_p``, ``seed``, ``prompt_format``,
  ``finish_reason`` ("eos" or "length"), ``n_tokens`` (generated tokens, the final EOS not counted) and
  ``ids_round_trip`` (whether tokenizing ``trace`` again gives the generated ids; see below).
- ``traces.jsonl.entropy/``: the recorded entropies, one ``.npz`` shard per sampling call, written
  atomically. A shard holds ``ids`` (record ids), ``lengths``, and the records' ``entropy`` (float32, nats) and
  ``token_ids`` (int64) concatenated in that order; it names its own records, so no index file has to be kept in
  step with it. Read with :func:`load_policy_entropy` and :func:`load_token_ids`.
- ``traces.jsonl.manifest.json``: the options; a rerun with other options is refused.
- with ``score=True``, ``cache_dir`` (default ``traces.jsonl.traces/``): one trace-cache entry per sample whose text
  re-tokenizes to its ids; score it with ``--cache-dir`` naming that folder.

Resuming: rerun the same call after Ctrl-C or ``kill -9``. Records are appended one fsynced line at a time
(:class:`~reasongraph.core.storage.JsonlAppender`), a torn last line is cut off, and a record whose id is in the file
is done. The samples, prompt by prompt, are cut into calls of ``batch_size`` rows each (a call may hold the last
samples of one prompt and the first of the next). A call whose records are not all done runs again whole, draws
the same tokens, rewrites the same shard and appends only the missing records; its cache entries are written
before its records. A sample depends only on (``seed``, the prompt's text, its sample index)
(:func:`~reasongraph.trace.sampling.draw.row_uniforms`), never on the batch it ran in or on the other prompts: a resumed
run, a run with another ``batch_size`` and a run with more prompts draw the same samples of the same prompts (on
the same device, dtype and library versions; two prompts with the same text draw the same samples).

Re-tokenization: score tokenizes the trace text again. Usually that gives the generated ids back
(``ids_round_trip`` true) and score's entropies equal the recorded ones to float rounding. When it does not (a
special token generated inside the text is dropped by the decoding; byte pieces that decode to U+FFFD; a
tokenizer that splits a text differently from how it was generated), the recorded array belongs to the generated
ids (:func:`load_token_ids`) and does not line up with score's tokens: compare ids before pairing entropies. Such a
sample gets no cache entry with ``score=True`` (score teacher-forces its text), and is counted in the summary.

An empty completion (EOS as the first token) is a sample like any other: its record has ``trace`` "" and
``n_tokens`` 0, and score scores it as a trace of zero steps.
"""
from __future__ import annotations

from typing import TYPE_CHECKING
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reasongraph.core.options import given_or_keywords
from reasongraph.core.progress import Progress
from reasongraph.core.storage import JsonlAppender, read_jsonl
from reasongraph.runs.generate.options import SampleOptions
from reasongraph.runs.generate.output import (GenerateOutput, entropy_dir, input_sha256, model_config_sha256,
                                              sample_id, sample_record, traces_dir)
from reasongraph.runs.generate.shards import write_shard
from reasongraph.runs.records.prompts import check_lengths, read_prompts
from reasongraph.trace.extraction.encode import encode_prompt
from reasongraph.trace.extraction.teacher_forced import resolve_model
from reasongraph.trace.sampling.decode import Sample, sample_rows
from reasongraph.trace.sampling.recorded import SampledTraceWriter

if TYPE_CHECKING:
    from reasongraph.runs.records.prompts import Prompt

__all__ = ["generate"]


def generate(prompts: str | os.PathLike | Sequence[str], *, model: Any = None, out: str | os.PathLike,
             options: SampleOptions | None = None, progress: bool = True, **keywords: Any) -> list[dict]:
    """Sample ``samples`` traces of every prompt, record the policy's token entropy, write a resumable JSONL.

    Parameters
    ----------
    prompts : a JSONL, CSV/TSV or Parquet file or a saved ``datasets`` folder (read with
        :class:`~reasongraph.runs.records.reader.RecordReader`), a ``.txt`` file with one prompt per non-blank line
        (ids are line numbers), or a list of prompt strings (ids are list indices).
    model : a :class:`~reasongraph.models.loaded.LoadedModel`, a spec for
        :func:`~reasongraph.models.sources.load_model`, or
        None for the default model.
    out : the output JSON Lines file; ``<out>.entropy/``, ``<out>.manifest.json`` and ``<out>.lock`` (held while it
        writes: a second generate into the same output is refused) go next to it.

    The options, as keywords or as one ``options`` (:class:`~reasongraph.runs.generate.options.SampleOptions`):

    samples : samples per prompt (N).
    temperature, top_p : sampling from softmax(z / temperature), cut to the top-p nucleus when top_p < 1. The
        recorded entropy is of softmax(z / temperature) over the whole vocabulary, before the top-p cut.
    max_new_tokens : the longest trace, in tokens; a trace that reaches it ends with finish_reason "length".
    seed : with the prompt's text and the sample index, seeds each sample's own random stream.
    prompt_field, id_field : fields of the input; the default id field may be absent (ids are then line numbers).
    prompt_format : "raw" (the prompt's tokens, then the trace) or "chat" (the tokenizer's chat template, the
        trace as the assistant's reply); the same meaning as in
        :func:`~reasongraph.trace.extraction.teacher_forced.extract`, so score with the same ``prompt_format``.
    batch_size : samples per sampling call, taken in order across prompts (None: N, one prompt per call). On a
        CPU, decoding is bound by reading the weights, so more rows per call cost little more per step: with
        SmolLM2-135M, 64 rows decode 2.3x the tokens/s of 8. The rows of a call run until its longest sample
        ends, so very unequal lengths waste part of a large batch. Samples do not depend on it.
    score : also record, while sampling, each token's log-prob and the hidden states of ``layers``, and write each
        sample as the trace-cache entry ``score`` looks up (:mod:`reasongraph.trace.sampling.recorded`), so that scoring
        the samples runs no forward pass. Score with the same model, ``temperature`` (per record:
        ``temperature_field="temperature"``), ``prompt_format``, ``layers``, ``segment`` and ``keep_hidden``, and
        with ``cache_dir`` as its cache folder.
    layers, segment, keep_hidden : with ``score``, as in :func:`~reasongraph.score_dataset` (the layers whose
        hidden states are recorded, the first giving the step vectors; how steps are cut; whether the cache keeps
        every token's hidden states).
    cache_dir : with ``score``, the trace-cache folder to write (default ``<out>.traces``); may be shared with
        scoring runs.
    options : a :class:`~reasongraph.runs.generate.options.SampleOptions` holding the options above, instead of
        them as keywords (not both).
    progress : show samples/s and tokens/s on stderr.

    Sampling uses only temperature and top-p: the model's own generation defaults (such as top_k=50, a
    repetition penalty) are not applied, since the recorded entropy must describe the distribution sampled from.
    Generation stops at the EOS token(s) of the model's generation config and tokenizer.

    Returns
    -------
    The records of ``out``, in order (those written by an earlier, interrupted run included). With ``score``,
    each has ``recorded``: whether its trace-cache entry was written.

    Raises
    ------
    InputError : a bad option, a missing field, an empty or duplicate prompt, a prompt that leaves no room for
        ``max_new_tokens`` in the model's context (all before any sampling), or ``out`` holding a run with
        other options.
    """
    o = given_or_keywords(SampleOptions, options, keywords, "options")
    samples, temperature, top_p, max_new_tokens = int(o.samples), o.temperature, o.top_p, int(o.max_new_tokens)
    seed, prompt_format = int(o.seed), o.prompt_format  # numpy ints are not JSON
    items = read_prompts(prompts, prompt_field=o.prompt_field, id_field=o.id_field)
    lm = resolve_model(model)
    prompt_ids = [encode_prompt(lm.tokenizer, p.text, prompt_format) for p in items]
    check_lengths(items, prompt_ids, lm.context_length, max_new_tokens)
    chunk = o.batch_size or samples
    manifest = {"input_sha256": input_sha256(prompts), **o.identity(section="fields"),
                "model": lm.name, "model_config": model_config_sha256(lm), "dtype": str(lm.dtype),
                "device": getattr(lm.device, "type", str(lm.device)), **o.identity(section="sampling"),
                "batch_size": chunk}
    out = Path(out)
    recorder = None
    if o.score:
        recorder = SampledTraceWriter(lm, o.cache_dir if o.cache_dir is not None else traces_dir(out),
                                      layers=o.layers, segment=o.segment, temperature=float(temperature),
                                      prompt_format=prompt_format, keep_hidden=o.keep_hidden)
        manifest["score"] = recorder.identity()
    output = GenerateOutput(out, manifest, source=prompts)
    done = output.done
    shards = entropy_dir(out)
    common = {"model": lm.name, "temperature": float(temperature), "top_p": float(top_p), "seed": seed,
              "prompt_format": prompt_format}
    rows = [(p, k) for p in items for k in range(samples)]
    before = sum(sample_id(p.id, k) in done for p, k in rows)  # the first line counts what an earlier run wrote
    with output, Progress(len(rows), "generate", enabled=progress, unit="samples", done=before) as bar, \
            JsonlAppender(out) as sink:
        for start in range(0, len(rows), chunk):
            batch = rows[start:start + chunk]
            rids = [sample_id(p.id, k) for p, k in batch]
            new = [rid not in done for rid in rids]
            if not any(new):
                continue
            drawn = _sample(lm, batch, prompt_ids, seed=seed, temperature=temperature, top_p=top_p,
                            max_new_tokens=max_new_tokens, layers=recorder.layer_ids if recorder else ())
            first, k0 = batch[0]
            write_shard(shards / f"{first.index:08d}-{k0:06d}.npz", rids, drawn)
            records = [sample_record(lm.tokenizer, p, k, rid, s, common) for (p, k), rid, s in zip(batch, rids, drawn)]
            if recorder is not None:
                for (p, _), rec, s in zip(batch, records, drawn):
                    rec["recorded"] = recorder.write(p.text, prompt_ids[p.index], rec["trace"], s)
            for rec, is_new in zip(records, new):
                if is_new:
                    sink.append(rec)
            bar.update(sum(new), tokens=sum(len(s.token_ids) for s, is_new in zip(drawn, new) if is_new))
    return list(read_jsonl(out))


def _sample(lm: Any, batch: list[tuple[Prompt, int]], prompt_ids: list[list[int]], *, seed: int,
            temperature: float, top_p: float, max_new_tokens: int, layers: tuple[int, ...]) -> list[Sample]:
    """One sampling call over the rows of ``batch`` (prompt, sample index), each from its own stream."""
    return sample_rows(lm, [prompt_ids[p.index] for p, _ in batch], [(p.text, k) for p, k in batch], seed=seed,
                       temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, layers=layers)
