"""``reasongraph locus``: where along depth, and where in the text, two checkpoints' token entropy parts.

:func:`locus` teacher-forces the same texts through A (base) and B (trained) and measures, per science.md's
"Why it collapses at the token level: the locus": the logit-lens profile with each model's head and with A's
head on both trunks, and the collapse locus; CKA, Procrustes, k-NN overlap and spectral entropy per layer; the
residual-patching profile and its head-only share; the temperature on A that mimics B; where in the text the drop
lies. One model is in memory at a time, in three phases, with the layer states on disk in between:

1. A: its own pass over every text (sampled rows of each lens layer and full sequences of each patch layer go to
   disk), then its lens;
2. B: checked against A (shapes, tokenizer, the same token ids), its own pass and lens, then B run from A's
   states at each patch layer (A up to l, then B; l = L is the head swap);
3. A again: A run from B's states (B up to l, then A), A's head on B's trunk, the temperature fit. Then the
   similarities, read from disk one layer at a time.
"""
from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reasongraph.core.checks import check_path_writable
from reasongraph.core.errors import InputError, opt
from reasongraph.core.json_values import strict_json
from reasongraph.core.options import given_or_keywords
from reasongraph.core.storage import atomic_write_json
from reasongraph.html.locus_view import locus_html, write_locus_html
from reasongraph.models.head_entropy import check_head
from reasongraph.trace.extraction.encode import encode
from reasongraph.trace.steps import segment_steps
from reasongraph.train.locus.layer_store import LayerStore
from reasongraph.train.locus.model_pair import ModelSlot, check_pair, describe, release
from reasongraph.train.locus.model_passes import lens, make_plan, own_pass, patch_pass, temperature_fit
from reasongraph.train.locus.options import LocusOptions
from reasongraph.train.locus.scopes import LocusData, summarize_scope
from reasongraph.train.locus.similarity import similarity_profile
from reasongraph.train.locus.texts import read_texts

log = logging.getLogger("reasongraph")

__all__ = ["LocusResult", "locus"]

NOTES = (
    "Logit lenses on small models are not monotone in depth (SmolLM2's own lens reads 1.13 nats at layer 1, 0.56 "
    "at 23 and 1.05 at the last): read the ratio B/A per layer, not the level.",
    "h_l is the residual stream after block l, before the final norm; a model's head is its final norm and "
    "unembedding. The A-head lens applies A's head to both trunks: it isolates the trunk.",
    "The tuned lens (an affine map per layer fit on A's tokens) is not computed: every lens here is the logit lens.",
    "Intervals: percentile bootstrap over texts. p: sign-flip test of the per-text mean difference B - A, "
    "Holm-corrected over layers.",
)


@dataclass
class LocusResult:
    """What :func:`locus` measured: ``data`` is the content of locus.json (strict JSON values)."""

    data: dict

    def as_dict(self) -> dict:
        return self.data

    @property
    def scopes(self) -> list[dict]:
        return self.data["scopes"]

    def scope(self, *, name: str = "all") -> dict:
        """One scope's summary: "all", or a group's name."""
        for s in self.scopes:
            if s["name"] == name:
                return s
        raise KeyError(f"no scope {name!r}; scopes: {[s['name'] for s in self.scopes]}")

    def html(self) -> str:
        return locus_html(self.data)


def locus(a: Any, b: Any, texts: Any, *, out: str | os.PathLike | None = None, html: str | os.PathLike | None = None,
          device: Any = None, dtype: Any = None, options: LocusOptions | None = None, **keywords: Any) -> LocusResult:
    """Compare two checkpoints of one model on the same texts, layer by layer (see the module docstring).

    Parameters
    ----------
    a, b : the base and the trained model: any spec :func:`reasongraph.load_model` accepts (a verl or OpenRLHF
        checkpoint folder is read in its Hugging Face form), or a loaded model.
    texts : a JSONL/CSV/TSV/Parquet file, a run folder of ``score`` (its scored samples), a list of them (each a
        source, reported as a group), or a list of strings.
    out : a folder for locus.json (and report.html unless ``html`` says where); None writes nothing.
    html : where to write the HTML report.
    device, dtype : where and how each model is loaded.
    options : a :class:`~reasongraph.train.locus.options.LocusOptions` holding the options below, instead of them
        as keywords (not both).
    text_field, prompt_field, id_field, group_field, limit : how records are read (as for ``score``); the
        groups (or, with several sources, the sources) each get a scope of their own beside "all".
    prompt_format, temperature, truncate, segment : as for extraction (prompt_format None: the run folders' own,
        else "raw"); steps (for the onsets) come from ``segment``.
    layer_stride : every layer_stride-th layer (and the last) gets the lens and the similarities.
    patch_stride : every patch_stride-th layer (and the last: the head swap) is a patching split.
    max_tokens : the seeded sample of predicted tokens for the lens, similarities and temperature fit.
    k : neighbours of the k-NN overlap. seed : the token sample and the bootstraps.
    n_boot, ci : bootstrap resamples over texts and the interval level.
    states_dir : where the layer states go (default: ``out``/states, else a temporary folder); removed at the end
        unless ``keep_states``.

    Returns
    -------
    LocusResult

    Raises
    ------
    InputError : bad options or inputs, or two models whose shapes or tokenizers differ.
    """
    started = time.perf_counter()
    rss_start = _rss_mib("VmRSS")
    o = given_or_keywords(LocusOptions, options, keywords, "options")
    _check_paths(out, html)
    slots = ModelSlot(a, role="a", device=device, dtype=dtype), ModelSlot(b, role="b", device=device, dtype=dtype)
    found = read_texts(texts, text_field=o.text_field, prompt_field=o.prompt_field, id_field=o.id_field,
                       group_field=o.group_field, limit=o.limit)
    fmt = o.prompt_format or found.prompt_format or "raw"
    folder = Path(o.states_dir) if o.states_dir else (Path(out) / "states" if out else Path(tempfile.mkdtemp(
        prefix="reasongraph-locus-")))
    store = LayerStore(folder)
    try:
        data, models, plan, timings = _phases(slots, found.items, store, fmt=fmt, temperature=o.temperature,
                                              truncate=o.truncate, segment=o.segment, layer_stride=o.layer_stride,
                                              patch_stride=o.patch_stride, max_tokens=o.max_tokens, seed=o.seed,
                                              k=o.k, n_boot=o.n_boot, ci=o.ci)
    finally:
        states_mib = store.nbytes() / 2**20
        if not o.keep_states:
            store.remove()
            if not o.states_dir and not out:
                shutil.rmtree(folder, ignore_errors=True)
    scopes = data.pop("scopes")
    result = LocusResult(strict_json({
        "format": "reasongraph.locus", "version": 1, "a": models[0], "b": models[1],
        "options": {**o.identity(), "prompt_format": fmt, "lens_layers": list(plan.lens_layers),
                    "patch_layers": list(plan.patch_layers), "n_layers": plan.n_layers},
        "n_texts": len(found.items), "n_skipped": found.skipped, "notes": list(NOTES) + data["notes"],
        "timings": {**timings, "total_s": time.perf_counter() - started},
        "memory": {"rss_start_mib": rss_start, "peak_rss_mib": _rss_mib("VmHWM"),
                   "model_mib": max(m["footprint_mib"] for m in models), "states_mib": states_mib},
        "scopes": scopes}))
    _write(result, out, html)
    return result


def _check_paths(out: Any, html: Any) -> None:
    if out is not None:
        check_path_writable("out", out, folder=True)
    if html is not None:
        check_path_writable("html", html)


def _phases(slots: tuple[ModelSlot, ModelSlot], items: list, store: LayerStore, *, fmt: str, temperature: float,
            truncate: bool, segment: str, layer_stride: int, patch_stride: int, max_tokens: int, seed: int, k: int,
            n_boot: int, ci: float) -> tuple[dict, list[dict], Any, dict]:
    """The three phases (module docstring); returns the scopes and notes, the models' descriptions, the plan and
    the timings."""
    slot_a, slot_b = slots
    clock = _Clock()
    with clock("load_s"):
        lm = slot_a.load()
    check_head(lm)
    desc_a = describe(lm)
    encoded = [encode(lm, it.text, it.prompt, fmt, truncate, index=i) for i, it in enumerate(items)]
    inputs = [e.input_ids for e in encoded]
    plan = make_plan([len(x) for x in inputs], [e.prompt_len for e in encoded], lm.num_layers,
                     layer_stride=layer_stride, patch_stride=patch_stride, max_tokens=max_tokens, seed=seed,
                     temperature=temperature)
    with clock("passes_s"):
        own_a = own_pass(lm, inputs, plan, store, "A")
    with clock("lens_s"):
        lens_a = lens(lm, store, "A", plan)
    release(slot_a, lm)

    with clock("load_s"):
        lm = slot_b.load()
    check_head(lm)
    desc_b = describe(lm)
    check_pair(desc_a, desc_b)
    _check_same_tokens(lm, items, inputs, fmt, truncate)
    with clock("passes_s"):
        own_b = own_pass(lm, inputs, plan, store, "B")
    with clock("lens_s"):
        lens_b = lens(lm, store, "B", plan)
    patch_ab, stats_ab = patch_pass(lm, inputs, plan, store, "A", own="B", own_entropy=own_b)
    clock.add(head_swap_s=stats_ab["head_swap"], patch_s=stats_ab["patch"])
    release(slot_b, lm)

    with clock("load_s"):
        lm = slot_a.load()
    if lm.identity() != desc_a["identity"]:
        raise InputError(f"{opt('a')} ({slot_a.name}) loaded again is another model than the first time "
                         f"({lm.identity()} against {desc_a['identity']})")
    patch_ba, stats_ba = patch_pass(lm, inputs, plan, store, "B", own="A", own_entropy=own_a)
    clock.add(head_swap_s=stats_ba["head_swap"], patch_s=stats_ba["patch"])
    with clock("lens_s"):
        lens_a_on_b = lens(lm, store, "B", plan)
    onsets = [np.array([s.start_token - (1 if e.prompt_len == 0 else 0)
                        for s in segment_steps(e.text, e.offsets, segment)], dtype=np.int64) for e in encoded]
    data = LocusData(n_layers=plan.n_layers, lens_layers=list(plan.lens_layers), patch_layers=list(plan.patch_layers),
                     sample_text=plan.sample_text, lens_a=lens_a, lens_b=lens_b, lens_a_on_b=lens_a_on_b,
                     own_a=own_a, own_b=own_b, patch_ab=patch_ab, patch_ba=patch_ba, onsets=onsets)
    scopes = _scopes(items)
    fits = {}
    with clock("temperature_s"):
        for name, texts in scopes.items():
            rows = data.sample_rows(texts)
            fits[name] = temperature_fit(lm, store, "A", plan, rows, lens_b[-1, rows], lens_a[-1, rows])
    release(slot_a, lm)

    summaries = []
    for name, texts in scopes.items():
        with clock("similarity_s"):
            rows = data.sample_rows(texts)
            similarity = similarity_profile(((store.read(f"A.sample.{layer}", rows=rows),
                                              store.read(f"B.sample.{layer}", rows=rows))
                                             for layer in plan.lens_layers), k=k)
        summaries.append(summarize_scope(data, texts, name=name, similarity=similarity, temperature=fits[name],
                                         n_boot=n_boot, ci=ci, seed=seed))
    n_pred = sum(x.size for x in own_a)
    notes = [f"The lens, the similarities and the temperature fit read a seeded sample of {data.sample_text.size} "
             f"of the {n_pred} predicted tokens (seed {seed}); patching and the text measures read all of them."]
    skipped = stats_ab["skipped"] + stats_ba["skipped"]
    if skipped:
        notes.append(f"{skipped} of {skipped + stats_ab['runs'] + stats_ba['runs']} patched runs were not run: the "
                     "two models' states at that split were the same, so each would have been the model's own pass.")
    if any(abs(s["summary"]["drop"] or 0) < 1e-3 for s in summaries):
        notes.append("A drop D under 0.001 nats: the shares divide by D and are unstable there.")
    return {"scopes": summaries, "notes": notes}, [desc_a, desc_b], plan, clock.seconds


def _check_same_tokens(lm: Any, items: list, inputs: list, fmt: str, truncate: bool) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a truncation was reported when A encoded the same text
        for i, (item, ids) in enumerate(zip(items, inputs)):
            if encode(lm, item.text, item.prompt, fmt, truncate, index=i).input_ids != ids:
                raise InputError(f"{opt('a')} and {opt('b')} tokenize text {item.id!r} differently; locus needs the "
                                 "same token sequence in both")


def _scopes(items: list) -> dict[str, np.ndarray]:
    """"all", then each group (when there are two or more), as arrays of text indices."""
    out = {"all": np.arange(len(items))}
    groups = list(dict.fromkeys(it.group for it in items if it.group is not None))
    if len(groups) > 1 or (groups and any(it.group is None for it in items)):
        for g in groups:
            out[g if g != "all" else "group all"] = np.array([i for i, it in enumerate(items) if it.group == g])
    return out


class _Clock:
    """Seconds per named part, summed over the phases."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, **parts: float) -> None:
        for key, value in parts.items():
            self.seconds[key] = self.seconds.get(key, 0.0) + value

    @contextmanager
    def __call__(self, key: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(**{key: time.perf_counter() - t0})


def _rss_mib(field: str) -> float:
    """This process's VmRSS (now) or VmHWM (its peak), MiB; NaN where /proc is absent."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def _write(result: LocusResult, out: Any, html: Any) -> None:
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        atomic_write_json(Path(out) / "locus.json", result.data)
    target = html if html is not None else (Path(out) / "report.html" if out is not None else None)
    if target is not None:
        write_locus_html(result.data, target)
