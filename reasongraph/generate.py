"""On-policy sampling: N samples of each prompt from the model that will score them, with its own token entropy.

A comparison of two policies is faithful only when each policy's traces are scored by that policy (see "The seed
question, measured" in the README); traces written by someone else measure the scorer's surprise at the text.
:func:`generate`
samples traces with :func:`reasongraph.row_sampler.sample_rows` (softmax(z / T), top-p when asked, each row from its
own random stream) and records, for every generated token, the policy's entropy at the sampling temperature: H_i
of softmax(z_i / T) over the whole vocabulary, in nats, from the raw logits z_i of that step. Top-p is left out of
H on purpose: it changes which token is drawn, not the policy whose entropy the token level measures
(docs/metrics.md), and it is what teacher-forced scoring (:func:`~reasongraph.extraction.extract` at the same T)
computes.

With ``score=True`` the sampling pass also keeps each token's log-prob and the chosen layers' hidden states, and
writes each sample as the trace-cache entry that ``score`` of the written file looks up (the same model,
temperature, layers, segmenter and prompt format; see :mod:`reasongraph.sampled_traces`): scoring the samples
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
(:class:`~reasongraph.storage.JsonlAppender`), a torn last line is cut off, and a record whose id is in the file
is done. The samples, prompt by prompt, are cut into calls of ``batch_size`` rows each (a call may hold the last
samples of one prompt and the first of the next). A call whose records are not all done runs again whole, draws
the same tokens, rewrites the same shard and appends only the missing records; its cache entries are written
before its records. A sample depends only on (``seed``, the prompt's text, its sample index)
(:func:`~reasongraph.row_sampler.row_uniforms`), never on the batch it ran in or on the other prompts: a resumed
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

import hashlib
import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reasongraph.errors import InputError, opt
from reasongraph.progress import Progress
from reasongraph.records import RecordReader
from reasongraph.row_sampler import Sample
from reasongraph.storage import (JsonlAppender, atomic_write, atomic_write_json, read_json, read_jsonl,
                                 repair_jsonl)

__all__ = ["Prompt", "Sample", "check_options", "entropy_dir", "generate", "load_policy_entropy", "load_token_ids",
           "manifest_path", "read_prompts", "sample_id"]

_MANIFEST_FORMAT = "reasongraph.generate"
# 2: a prompt's KV cache is computed once and shared by its rows; 3: each row draws from its own stream
_MANIFEST_VERSION = 3
PROMPT_FORMATS = ("raw", "chat")


@dataclass(frozen=True)
class Prompt:
    """One prompt to sample from: its position in the input, its id, its text, and how messages name it."""

    index: int
    id: str
    text: str
    where: str


def generate(prompts: str | os.PathLike | Sequence[str], *, model: Any = None, out: str | os.PathLike,
             samples: int = 1, temperature: float = 1.0, top_p: float = 1.0, max_new_tokens: int = 512,
             seed: int = 0, prompt_field: str = "prompt", id_field: str | None = "id", prompt_format: str = "raw",
             batch_size: int | None = None, score: bool = False, layers: Any = (0.9,), segment: str = "newline",
             cache_dir: str | os.PathLike | None = None, keep_hidden: bool = False,
             progress: bool = True) -> list[dict]:
    """Sample ``samples`` traces of every prompt, record the policy's token entropy, write a resumable JSONL.

    Parameters
    ----------
    prompts : a JSONL, CSV/TSV or Parquet file or a saved ``datasets`` folder (read with
        :class:`~reasongraph.records.RecordReader`), a ``.txt`` file with one prompt per non-blank line (ids are
        line numbers), or a list of prompt strings (ids are list indices).
    model : a :class:`~reasongraph.models.LoadedModel`, a spec for :func:`~reasongraph.models.load_model`, or
        None for the default model.
    out : the output JSON Lines file; ``<out>.entropy/`` and ``<out>.manifest.json`` go next to it.
    samples : samples per prompt (N).
    temperature, top_p : sampling from softmax(z / temperature), cut to the top-p nucleus when top_p < 1. The
        recorded entropy is of softmax(z / temperature) over the whole vocabulary, before the top-p cut.
    max_new_tokens : the longest trace, in tokens; a trace that reaches it ends with finish_reason "length".
    seed : with the prompt's text and the sample index, seeds each sample's own random stream.
    prompt_field, id_field : fields of the input; the default id field may be absent (ids are then line numbers).
    prompt_format : "raw" (the prompt's tokens, then the trace) or "chat" (the tokenizer's chat template, the
        trace as the assistant's reply); the same meaning as in :func:`~reasongraph.extraction.extract`, so score
        with the same ``prompt_format``.
    batch_size : samples per sampling call, taken in order across prompts (None: N, one prompt per call). On a
        CPU, decoding is bound by reading the weights, so more rows per call cost little more per step: with
        SmolLM2-135M, 64 rows decode 2.3x the tokens/s of 8. The rows of a call run until its longest sample
        ends, so very unequal lengths waste part of a large batch. Samples do not depend on it.
    score : also record, while sampling, each token's log-prob and the hidden states of ``layers``, and write each
        sample as the trace-cache entry ``score`` looks up (:mod:`reasongraph.sampled_traces`), so that scoring
        the samples runs no forward pass. Score with the same model, ``temperature`` (per record:
        ``temperature_field="temperature"``), ``prompt_format``, ``layers``, ``segment`` and ``keep_hidden``, and
        with ``cache_dir`` as its cache folder.
    layers, segment, keep_hidden : with ``score``, as in :func:`~reasongraph.score_dataset` (the layers whose
        hidden states are recorded, the first giving the step vectors; how steps are cut; whether the cache keeps
        every token's hidden states).
    cache_dir : with ``score``, the trace-cache folder to write (default ``<out>.traces``); may be shared with
        scoring runs.
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
    check_options(samples=samples, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed,
                  prompt_format=prompt_format, batch_size=batch_size)
    if score:
        _check_score_options(layers, segment, temperature, prompt_format, keep_hidden)
    samples, max_new_tokens, seed = int(samples), int(max_new_tokens), int(seed)  # numpy ints are not JSON
    items = read_prompts(prompts, prompt_field=prompt_field, id_field=id_field)
    from reasongraph.extraction import _prompt_ids, resolve_model

    lm = resolve_model(model)
    prompt_ids = [_prompt_ids(lm.tokenizer, p.text, prompt_format) for p in items]
    _check_lengths(items, prompt_ids, lm.context_length, max_new_tokens)
    chunk = batch_size or samples
    options = {"input_sha256": _input_sha256(prompts), "prompt_field": prompt_field, "id_field": id_field,
               "model": lm.name, "model_config": _config_sha256(lm), "dtype": str(lm.dtype),
               "device": getattr(lm.device, "type", str(lm.device)), "samples": samples,
               "temperature": float(temperature), "top_p": float(top_p), "max_new_tokens": max_new_tokens,
               "seed": seed, "prompt_format": prompt_format, "batch_size": chunk}
    out = Path(out)
    recorder = None
    if score:
        from reasongraph.sampled_traces import SampledTraceWriter

        recorder = SampledTraceWriter(lm, cache_dir if cache_dir is not None else traces_dir(out), layers=layers,
                                      segment=segment, temperature=float(temperature), prompt_format=prompt_format,
                                      keep_hidden=keep_hidden)
        options["score"] = recorder.identity()
    done = _open_output(out, options, source=prompts)
    shards = entropy_dir(out)
    common = {"model": lm.name, "temperature": float(temperature), "top_p": float(top_p), "seed": seed,
              "prompt_format": prompt_format}
    rows = [(p, k) for p in items for k in range(samples)]
    with Progress(len(rows), "generate", enabled=progress, unit="samples") as bar, JsonlAppender(out) as sink:
        for start in range(0, len(rows), chunk):
            batch = rows[start:start + chunk]
            rids = [sample_id(p.id, k) for p, k in batch]
            new = [rid not in done for rid in rids]
            bar.skip(len(batch) - sum(new))
            if not any(new):
                continue
            drawn = _sample(lm, batch, prompt_ids, seed=seed, temperature=temperature, top_p=top_p,
                            max_new_tokens=max_new_tokens, layers=recorder.layer_ids if recorder else ())
            first, k0 = batch[0]
            _write_shard(shards / f"{first.index:08d}-{k0:06d}.npz", rids, drawn)
            records = [_record(lm.tokenizer, p, k, rid, s, common) for (p, k), rid, s in zip(batch, rids, drawn)]
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
    from reasongraph.row_sampler import sample_rows

    return sample_rows(lm, [prompt_ids[p.index] for p, _ in batch], [(p.text, k) for p, k in batch], seed=seed,
                       temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, layers=layers)


def _check_score_options(layers: Any, segment: str, temperature: float, prompt_format: str, keep_hidden: bool
                         ) -> None:
    """The scoring options of ``score=True``, checked as score checks them (before any model loads)."""
    from reasongraph.extraction import check_extract_options

    check_extract_options(layers=layers, segment=segment, temperature=temperature, prompt_format=prompt_format)
    if not isinstance(keep_hidden, bool):
        raise InputError(f"{opt('keep_hidden')} must be True or False, got {keep_hidden!r}")
    specs = (layers,) if isinstance(layers, (int, float, np.integer)) else tuple(layers)
    if not specs or any(isinstance(x, (int, np.integer)) and x < 0 for x in specs):
        raise InputError(f"{opt('layers')}: score records at least one layer, as indices >= 0 or depth ratios "
                         f"(as score takes them), got {list(specs)}")


# ---------------------------------------------------------------------- validation
def check_options(*, samples: int, temperature: float, top_p: float, max_new_tokens: int, seed: int,
                  prompt_format: str, batch_size: int | None) -> None:
    """Raise InputError for a sampling option out of range (cheap: no model, no file)."""
    if not _whole(samples) or samples < 1:
        raise InputError(f"{opt('samples')} must be a whole number >= 1, got {samples!r}")
    if not _real(temperature) or not (math.isfinite(temperature) and temperature > 0):
        raise InputError(f"{opt('temperature')} must be a finite number > 0, got {temperature!r}")
    if not _real(top_p) or not 0 < top_p <= 1:
        raise InputError(f"{opt('top_p')} must be in (0, 1], got {top_p!r}")
    if not _whole(max_new_tokens) or max_new_tokens < 1:
        raise InputError(f"{opt('max_new_tokens')} must be a whole number >= 1, got {max_new_tokens!r}")
    if not _whole(seed) or seed < 0:
        raise InputError(f"{opt('seed')} must be a whole number >= 0, got {seed!r}")
    if prompt_format not in PROMPT_FORMATS:
        raise InputError(f"{opt('prompt_format')} must be 'raw' or 'chat', got {prompt_format!r}")
    if batch_size is not None and (not _whole(batch_size) or batch_size < 1):
        raise InputError(f"{opt('batch_size')} must be a whole number >= 1, got {batch_size!r}")


def _whole(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _real(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def read_prompts(prompts: str | os.PathLike | Sequence[str], *, prompt_field: str = "prompt",
                 id_field: str | None = "id") -> list[Prompt]:
    """The prompts of a file or list, validated: every prompt a non-blank string, every id unique.

    Raises InputError naming the file, line and id of the first bad prompt (or the list index).
    """
    if isinstance(prompts, (str, os.PathLike)):
        path = Path(prompts)
        items = list(_text_prompts(path) if path.suffix.lower() == ".txt" else
                     _record_prompts(path, prompt_field, id_field))
    else:
        items = []
        for i, text in enumerate(prompts):
            if not isinstance(text, str) or not text.strip():
                raise InputError(f"prompts[{i}] must be a non-empty string, got {text!r}")
            items.append(Prompt(i, str(i), text, f"prompts[{i}]"))
    if not items:
        raise InputError(f"{prompts if isinstance(prompts, (str, os.PathLike)) else 'prompts'}: no prompt to "
                         "sample from")
    seen: dict[str, str] = {}
    for p in items:
        if p.id in seen:
            raise InputError(f"{p.where}: prompt id {p.id!r} was already used at {seen[p.id]}; give every prompt "
                             "its own id (sample ids '<prompt id>/s<k>' must be unique)")
        seen[p.id] = p.where
    return items


def _record_prompts(path: Path, prompt_field: str, id_field: str | None) -> Iterator[Prompt]:
    try:
        reader = RecordReader(path, text_field=prompt_field, id_field=id_field)
    except InputError as e:
        raise InputError(_prompt_words(e.template)) from None
    for i, rec in enumerate(reader):
        if not rec.ok:
            raise InputError(f"{path}: {rec.where()}: {_prompt_words(rec.error)}")
        yield Prompt(i, rec.id if rec.id is not None else str(rec.line), rec.text, f"{path}: {rec.where()}")


def _prompt_words(message: str) -> str:
    """The reader calls the field it reads the text field; here that field holds the prompt."""
    return message.replace(opt("text_field"), opt("prompt_field")).replace("text field", "prompt field")


def _text_prompts(path: Path) -> Iterator[Prompt]:
    """One prompt per non-blank line of a UTF-8 text file; the id is the line number."""
    if not path.is_file():
        raise InputError(f"input not found: {path}")
    index = 0
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise InputError(f"{path}: line {lineno}: undecodable bytes, not UTF-8 (column {e.start + 1})") \
                    from None
            if text.strip():
                yield Prompt(index, str(lineno), text, f"{path}: line {lineno}")
                index += 1


def _check_lengths(items: list[Prompt], prompt_ids: list[list[int]], context: int, max_new_tokens: int) -> None:
    for p, ids in zip(items, prompt_ids):
        if len(ids) + max_new_tokens > context:
            raise InputError(f"{p.where}: the prompt is {len(ids)} tokens, and with "
                             f"{opt('max_new_tokens', max_new_tokens)} that is more than the model's context of "
                             f"{context} tokens; shorten the prompt or lower {opt('max_new_tokens')}")


# ---------------------------------------------------------------------- the output and its manifest
def manifest_path(out: str | os.PathLike) -> Path:
    """``<out>.manifest.json``: the options of the run that writes ``out``."""
    return Path(f"{os.fspath(out)}.manifest.json")


def entropy_dir(out: str | os.PathLike) -> Path:
    """``<out>.entropy/``: the folder of entropy shards of ``out``."""
    return Path(f"{os.fspath(out)}.entropy")


def traces_dir(out: str | os.PathLike) -> Path:
    """``<out>.traces/``: where ``generate(score=True)`` writes its trace-cache entries unless told otherwise."""
    return Path(f"{os.fspath(out)}.traces")


def _open_output(out: Path, options: dict, source: Any) -> set[str]:
    """Check or write the manifest, repair a torn last line; the ids already written."""
    manifest, shards = manifest_path(out), entropy_dir(out)
    if out.is_dir():
        raise InputError(f"{opt('out')} {out} is a folder; give the path of the .jsonl file to write")
    if manifest.exists():
        old = read_json(manifest, "generate manifest")
        if not isinstance(old, dict) or old.get("format") != _MANIFEST_FORMAT or not isinstance(
                old.get("options"), dict):
            raise InputError(f"{manifest} is not a reasongraph generate manifest; use another {opt('out')}")
        if old.get("version") != _MANIFEST_VERSION:
            raise InputError(f"{out} was written by a reasongraph that samples differently (generate format "
                             f"version {old.get('version')!r}, now {_MANIFEST_VERSION}); its missing samples "
                             f"would not match its others, so use another {opt('out')}")
        diff = [k for k in sorted(set(old["options"]) | set(options)) if old["options"].get(k) != options.get(k)]
        if diff:
            said = "; ".join(f"{k}: run has {old['options'].get(k)!r}, now {options.get(k)!r}" for k in diff[:4])
            raise InputError(f"{out} holds samples generated with other options ({said}); resume with the same "
                             f"options, or use another {opt('out')} (or delete {out} and its "
                             f"{manifest.name} and {shards.name}/)")
    else:
        if (out.exists() and out.stat().st_size) or (shards.is_dir() and any(shards.iterdir())):
            raise InputError(f"{out} exists without its manifest {manifest.name}, so it is not a generate run to "
                             f"resume; use another {opt('out')}")
        out.parent.mkdir(parents=True, exist_ok=True)
        where = str(Path(source).resolve()) if isinstance(source, (str, os.PathLike)) else None
        atomic_write_json(manifest, {"format": _MANIFEST_FORMAT, "version": _MANIFEST_VERSION, "input": where,
                                     "options": options})
    shards.mkdir(exist_ok=True)
    repair_jsonl(out)
    return {r.get("id") for r in read_jsonl(out)}


def _input_sha256(prompts: Any) -> str:
    """Content hash of the prompts (every file of a saved-dataset folder), so changed prompts are not resumed."""
    h = hashlib.sha256()
    if not isinstance(prompts, (str, os.PathLike)):
        h.update(json.dumps(list(prompts)).encode("utf-8", "surrogatepass"))
        return h.hexdigest()
    path = Path(prompts)
    for p in ([path] if path.is_file() else sorted(q for q in path.rglob("*") if q.is_file())):
        h.update(str(p.relative_to(path) if p != path else "").encode() + b"\0")
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _config_sha256(lm: Any) -> str:
    config = getattr(lm.model, "config", None)
    text = config.to_json_string(use_diff=False) if hasattr(config, "to_json_string") else repr(config)
    return hashlib.sha256(text.encode()).hexdigest()


def sample_id(prompt_id: str, k: int) -> str:
    """The record id of sample ``k`` of a prompt: ``"<prompt id>/s<k>"``."""
    return f"{prompt_id}/s{k}"


def _record(tokenizer: Any, p: Prompt, k: int, rid: str, s: Sample, common: dict) -> dict:
    text = tokenizer.decode(s.token_ids.tolist(), skip_special_tokens=True, clean_up_tokenization_spaces=False)
    again = tokenizer(text, add_special_tokens=False)["input_ids"]
    return {"id": rid, "prompt_id": p.id, "sample": k, "prompt": p.text, "trace": text, **common,
            "finish_reason": s.finish_reason, "n_tokens": len(s.token_ids),
            "ids_round_trip": list(again) == s.token_ids.tolist()}


# ---------------------------------------------------------------------- entropy shards
def _write_shard(path: Path, ids: list[str], drawn: list[Sample]) -> None:
    arrays = {"ids": np.array(ids, dtype=str),
              "lengths": np.array([len(s.token_ids) for s in drawn], dtype=np.int64),
              "entropy": np.concatenate([s.entropy for s in drawn]).astype(np.float32),
              "token_ids": np.concatenate([s.token_ids for s in drawn]).astype(np.int64)}
    atomic_write(path, lambda tmp: np.savez(tmp, **arrays), suffix=".npz")


def _read_shards(path: str | os.PathLike) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(record id, entropy, token ids) of every record in the shards of ``path`` (the JSONL or its folder)."""
    folder = Path(path) if Path(path).is_dir() else entropy_dir(path)
    if not folder.is_dir():
        raise InputError(f"{path}: no recorded entropies ({folder} is missing); was it written by generate?")
    for shard in sorted(folder.glob("*.npz")):
        if shard.name.startswith("."):
            continue  # the temporary file of a write cut short by a kill
        try:
            with np.load(shard, allow_pickle=False) as z:
                ids, lengths, entropy, token_ids = z["ids"], z["lengths"], z["entropy"], z["token_ids"]
        except (OSError, ValueError, KeyError) as e:
            raise InputError(f"{shard}: not a readable entropy shard ({e})") from None
        bounds = np.cumsum(lengths)[:-1]
        yield from zip(ids.tolist(), np.split(entropy, bounds), np.split(token_ids, bounds))


def load_policy_entropy(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The entropies recorded at sampling time: {record id: float32 array, one value per generated token, nats}.

    ``path`` is the generated JSONL (its ``.entropy/`` folder is read) or that folder. Value i is H of
    softmax(z_i / T) over the whole vocabulary for generated token i, the final EOS left out. A shard written
    just before a kill may hold ids not (yet) in the JSONL; a resumed run rewrites it with the same values.
    """
    return {rid: h for rid, h, _ in _read_shards(path)}


def load_token_ids(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The generated token ids behind the recorded entropies: {record id: int64 array}, aligned with them."""
    return {rid: ids for rid, _, ids in _read_shards(path)}
