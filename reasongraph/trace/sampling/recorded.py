"""Traces recorded while sampling: the Trace that teacher forcing would give, built from what sampling computed.

Sampling a token computes everything a teacher-forced pass over the same tokens computes: the distribution that
chose the token (its entropy and the token's log-prob at the sampling temperature) and every layer's hidden state
at the token (:func:`reasongraph.trace.sampling.decode.sample_rows` records them). :func:`sampled_trace` turns one
sample into the :class:`~reasongraph.trace.trace.Trace` that
:func:`~reasongraph.trace.extraction.teacher_forced.extract` builds for its decoded text, with the same encoding (the
text tokenized again, its character offsets, the prompt ids) and the same steps; only the numbers come from sampling,
equal to teacher forcing's up to float rounding (the matrix products of one token at a time against a KV cache sum in
another order than one pass over the whole sequence).

That holds only where the decoded text tokenizes back to the sampled ids: otherwise teacher forcing reads other
tokens than sampling did, and :func:`sampled_trace` gives None (score then teacher-forces that text).

:class:`SampledTraceWriter` writes such traces into a trace cache under the key ``score`` computes for the same
text and prompt with the same model, temperature, layers, segmenter and prompt format
(:func:`~reasongraph.trace.cache.trace_cache_options`), reduced by the same :meth:`Trace.lean` as
teacher-forced entries, so that scoring the sampled file finds every recorded trace and runs no forward pass.
Entries say where they came from: ``meta["recorded"] == "sampling"``.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reasongraph.trace.cache import trace_cache_options
from reasongraph.trace.cache import TraceCache
from reasongraph.trace.extraction.encode import encode
from reasongraph.trace.extraction.forward import make_trace
from reasongraph.trace.extraction.layers import resolve_layers
from reasongraph.trace.sampling.decode import Sample
from reasongraph.trace.options import KEEP_HIDDEN
from reasongraph.trace.trace import PREFIX_TOKENS, Trace

__all__ = ["RECORDED", "SampledTraceWriter", "sampled_trace"]

#: ``Trace.meta["recorded"]`` of a trace built from sampling.
RECORDED = "sampling"


def sampled_trace(lm: Any, sample: Sample, *, text: str, prompt: str, prompt_ids: Sequence[int],
                  layer_ids: tuple[int, ...], segment: str, temperature: float, prompt_format: str) -> Trace | None:
    """The Trace of ``text`` (the decoded ``sample``) answering ``prompt``, from the sample's recorded entropy,
    log-prob and hidden states; None when ``text`` does not tokenize back to the prompt's and the sample's ids.

    ``prompt_ids`` are the ids the sample was drawn after; ``sample.hidden`` must hold ``layer_ids``.
    """
    enc = encode(lm, text, prompt, prompt_format)
    if enc.input_ids != [*map(int, prompt_ids), *sample.token_ids.tolist()] or enc.prompt_len != len(prompt_ids):
        return None
    missing = [k for k in layer_ids if k not in sample.hidden]
    if missing:
        raise ValueError(f"the sample holds no hidden states of layer(s) {missing}; sample with layers={layer_ids}")
    trace = make_trace(enc, sample.entropy, sample.logprob, {k: sample.hidden[k] for k in layer_ids}, lm,
                        layer_ids, segment, temperature)
    trace.meta["recorded"] = RECORDED
    return trace


class SampledTraceWriter:
    """Writes samples into a trace cache as ``score`` would find them.

    Parameters
    ----------
    lm : the model that samples (its identity keys the cache, as when score loads the same model).
    directory : the cache folder (created if missing); give it to score as its cache folder.
    layers, segment, temperature, prompt_format, keep_hidden : as score's options of the same names.

    Each sample is written under every key a scoring run of the file may look it up by (:attr:`variants`: the
    cache options and the :meth:`Trace.lean` arguments of each kind of run), each entry reduced by ``lean``
    exactly as a teacher-forced entry of that run is.
    """

    def __init__(self, lm: Any, directory: str | os.PathLike, *, layers: Any, segment: str, temperature: float,
                 prompt_format: str, keep_hidden: bool = KEEP_HIDDEN) -> None:
        self.lm, self.segment, self.temperature = lm, segment, float(temperature)
        self.prompt_format, self.keep_hidden = prompt_format, keep_hidden
        self.layer_ids = resolve_layers(layers, lm.num_layers)
        #: (trace cache, keyword arguments of Trace.lean) of each kind of scoring run: a plain one, and one with a
        #: sample group (generate's ``prompt_id``), whose entries also keep the first tokens' hidden states
        self.variants = []
        for prefix in (0, PREFIX_TOKENS):
            options = trace_cache_options(self.layer_ids, segment=segment, temperature=self.temperature,
                                          prompt_format=prompt_format, keep_hidden=keep_hidden, prefix_tokens=prefix)
            self.variants.append((TraceCache(directory, lm.identity(), options),
                                  {"keep_hidden": keep_hidden, "prefix_tokens": prefix}))

    @property
    def cache(self) -> TraceCache:
        """The cache of a plain scoring run of the samples."""
        return self.variants[0][0]

    def identity(self) -> dict:
        """What the entries depend on besides the model and the sampling options (for generate's manifest)."""
        return {"layers": list(self.layer_ids), "segment": self.segment, "keep_hidden": self.keep_hidden,
                "cache_dir": str(Path(self.cache.dir).resolve())}

    def write(self, prompt: str, prompt_ids: Sequence[int], text: str, sample: Sample) -> bool:
        """Cache the trace of one sample (where its entry is missing); False when its text does not re-tokenize."""
        trace = sampled_trace(self.lm, sample, text=text, prompt=prompt, prompt_ids=prompt_ids,
                              layer_ids=self.layer_ids, segment=self.segment, temperature=self.temperature,
                              prompt_format=self.prompt_format)
        if trace is None:
            return False
        for cache, lean in self.variants:
            key = cache.key(text, prompt)
            if not cache.has(key):
                cache.put(key, trace.lean(**lean))
        return True
