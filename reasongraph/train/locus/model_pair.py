"""The two checkpoints of a locus run: loaded one at a time, released after, and checked to be comparable.

A spec is loaded when a phase needs it and released when the phase ends, so two models never share memory; a
:class:`~reasongraph.models.loaded.LoadedModel` given by the caller is used as it is (and stays the caller's). Patching
swaps residual states position by position and the head swap reads one model's states with the other's head, so
the two must agree on every parameter shape and on the tokenizer: :func:`check_pair` refuses them otherwise, with
the first difference named, before any work is done with the second model.
"""
from __future__ import annotations

import gc
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.models.loaded import LoadedModel
from reasongraph.models.sources import check_available, load_model, model_name
from reasongraph.train.trainer_layouts import model_folder

__all__ = ["ModelSlot", "check_pair", "describe", "footprint_mib", "release"]


class ModelSlot:
    """One of the two models (``role`` "a" or "b", the option naming it), loaded on demand."""

    def __init__(self, spec: Any, *, role: str, device: Any = None, dtype: Any = None) -> None:
        self.role, self.device, self.dtype = role, device, dtype
        if isinstance(spec, LoadedModel):
            self.spec, self.name = spec, spec.name
            return
        if not isinstance(spec, (str, os.PathLike)) or not str(spec):
            raise InputError(f"{opt(role)} must be a model name or path (or a LoadedModel), got {spec!r}")
        path = Path(spec).expanduser()
        self.spec = str(model_folder(path)) if path.is_dir() else os.fspath(spec)
        check_available(self.spec)
        self.name = model_name(self.spec)

    @property
    def held_by_caller(self) -> bool:
        return isinstance(self.spec, LoadedModel)

    def load(self) -> LoadedModel:
        return self.spec if isinstance(self.spec, LoadedModel) else load_model(self.spec, device=self.device,
                                                                              dtype=self.dtype)


def release(slot: ModelSlot, lm: LoadedModel) -> None:
    """Free a model the slot loaded (a caller's model is left alone), with its device memory."""
    if slot.held_by_caller:
        return
    device = getattr(lm, "device", None)
    del lm
    gc.collect()
    if getattr(device, "type", None) == "cuda":
        import torch

        torch.cuda.empty_cache()


def footprint_mib(lm: LoadedModel) -> float:
    """The model's parameters and buffers, MiB (tied weights counted once)."""
    tensors = {id(t): t for t in [*lm.model.parameters(), *lm.model.buffers()]}
    return sum(t.numel() * t.element_size() for t in tensors.values()) / 2**20


def describe(lm: LoadedModel) -> dict:
    """What :func:`check_pair` compares, and the model's identity: parameter shapes, a hash of the vocabulary and
    the special tokens, the number of blocks."""
    tok = lm.tokenizer
    vocab = json.dumps(sorted(tok.get_vocab().items()), ensure_ascii=False)
    return {"name": lm.name, "identity": lm.identity(), "num_layers": lm.num_layers,
            "shapes": {k: list(v.shape) for k, v in lm.model.named_parameters()},
            "vocab_sha256": hashlib.sha256(vocab.encode("utf-8", "surrogatepass")).hexdigest(),
            "special": {k: getattr(tok, f"{k}_token_id", None) for k in ("bos", "eos", "pad", "unk")},
            "footprint_mib": footprint_mib(lm)}


def check_pair(a: dict, b: dict) -> None:
    """Raise InputError unless models described by ``a`` and ``b`` (:func:`describe`) share every parameter shape,
    the vocabulary and the special tokens."""
    what = f"{opt('a')} ({a['name']}) and {opt('b')} ({b['name']})"
    if a["num_layers"] != b["num_layers"]:
        raise InputError(f"{what} differ in shape: {a['num_layers']} and {b['num_layers']} blocks; locus compares "
                         "two checkpoints of one architecture")
    if a["shapes"] != b["shapes"]:
        names = sorted(set(a["shapes"]) | set(b["shapes"]))
        first = next(k for k in names if a["shapes"].get(k) != b["shapes"].get(k))
        shape_a, shape_b = (x["shapes"].get(first, "absent") for x in (a, b))
        raise InputError(f"{what} differ in shape: parameter {first} is {shape_a} in A and {shape_b} in B; locus "
                         "compares two checkpoints of one architecture")
    if a["vocab_sha256"] != b["vocab_sha256"] or a["special"] != b["special"]:
        detail = "special tokens" if a["vocab_sha256"] == b["vocab_sha256"] else "vocabularies"
        raise InputError(f"{what} have different tokenizers ({detail} differ); locus needs the same token sequence "
                         "in both")
