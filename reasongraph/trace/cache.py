"""Extracted traces on disk, one ``.npz`` per record, keyed by everything that changes the extraction.

A re-clustering or a report never recomputes hidden states: it reads them back from here. The key hashes the
model's identity, the extraction options and the hashes of text and prompt, so a cache folder can be shared
between runs (``cache_dir``). Entries are written atomically and never modified.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from reasongraph.core.storage import atomic_write
from reasongraph.trace.options import KEEP_HIDDEN, ExtractOptions
from reasongraph.trace.trace import Trace

__all__ = ["TraceCache", "trace_cache_options"]

_CACHE_VERSION = 1


def _sha256(s: str | None) -> str | None:
    return None if s is None else hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()


class TraceCache:
    """A folder of cached traces.

    Parameters
    ----------
    directory : created if missing.
    model_key : the model's identity (:meth:`reasongraph.models.loaded.LoadedModel.identity`).
    options : the extraction options (layers, segmenter, temperature, prompt format, truncation).
    """

    def __init__(self, directory: str | Path, model_key: dict, options: dict) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.options = dict(options)
        self._base = {"version": _CACHE_VERSION, "model": model_key, "options": options}

    def key(self, text: str, prompt: str | None) -> str:
        payload = dict(self._base, text=_sha256(text), prompt=_sha256(prompt))
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.entry_path(self.dir, key)

    @staticmethod
    def entry_path(directory: str | Path, key: str) -> Path:
        """Where the entry ``key`` of a cache folder lives (readable without the model that keyed it)."""
        return Path(directory) / key[:2] / f"{key}.npz"

    def get(self, key: str) -> Trace | None:
        path = self.path(key)
        if not path.exists():
            return None
        try:
            return Trace.load(path)
        except ValueError:
            path.unlink(missing_ok=True)  # unreadable entry (should not happen with atomic writes): redo it
            return None

    def has(self, key: str) -> bool:
        return self.path(key).exists()

    def recorded_while_sampling(self, key: str) -> bool:
        """Whether the entry ``key`` exists and was recorded while its trace was sampled (``meta["recorded"] ==
        "sampling"``, :mod:`reasongraph.trace.sampling.recorded`) rather than extracted. Reads the entry's header
        only."""
        path = self.path(key)
        if not path.exists():
            return False
        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(z["header"].tobytes().decode("utf-8"))
        except (OSError, ValueError, KeyError):
            return False  # unreadable: get() deletes it and it is extracted again
        meta = header.get("meta") if isinstance(header, dict) else None
        return isinstance(meta, dict) and meta.get("recorded") == "sampling"

    def put(self, key: str, trace: Trace) -> Path:
        path = self.path(key)
        path.parent.mkdir(exist_ok=True)
        return atomic_write(path, trace.save, suffix=".npz")


def trace_cache_options(layer_ids: tuple[int, ...], *, segment: str, temperature: float, prompt_format: str,
                        truncate: bool = ExtractOptions.truncate, keep_hidden: bool = KEEP_HIDDEN,
                        prefix_tokens: int = 0) -> dict:
    """What a cached trace depends on: the extraction options (keyword arguments of
    :func:`~reasongraph.trace.extraction.teacher_forced.extract_batch`, layers resolved for a model), whether it keeps
    its hidden states, and, in a run with a sample group only, how many response tokens' hidden states it keeps for
    the cross-sample spread (``prefix_tokens``; left out at 0, so runs without a sample group keep the cache keys they
    had before prefixes existed). The one place that forms them: scoring runs and ``generate(score=True)`` key the
    same trace alike."""
    options = {"layers": [int(k) for k in layer_ids], "segment": segment, "temperature": float(temperature),
               "prompt_format": prompt_format, "truncate": truncate, "keep_hidden": keep_hidden}
    if prefix_tokens:
        options["prefix_tokens"] = int(prefix_tokens)
    return options
