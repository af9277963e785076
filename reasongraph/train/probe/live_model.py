"""The model being trained, as the probe uses it: wrapped as a LoadedModel (never a copy), in eval mode while probed
and each module's train/eval flag restored after; the checks and decoding of the probe's inputs and samples."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from reasongraph.core.errors import InputError, opt
from reasongraph.models.loaded import LoadedModel

__all__ = ["check_not_empty", "decode_sample", "live_model", "probe_mode"]


# ---------------------------------------------------------------------- the live model
def live_model(model: Any, tokenizer: Any = None, *, name: str | None = None) -> Any:
    """A :class:`~reasongraph.models.loaded.LoadedModel` around a model in memory, sharing it (never a copy).

    ``model`` is a LoadedModel (returned as it is) or a transformers causal LM, which then needs ``tokenizer``.
    """
    if isinstance(model, LoadedModel):
        return model
    if tokenizer is None:
        raise InputError(f"a transformers model needs its {opt('tokenizer')} to be probed")
    first = next(model.parameters())
    name = name or str(getattr(model.config, "_name_or_path", "") or type(model).__name__)
    return LoadedModel(model=model, tokenizer=tokenizer, name=name, device=first.device, dtype=first.dtype)


@contextmanager
def probe_mode(model: Any) -> Iterator[None]:
    """Inside: ``model`` in eval mode; after: every module's own train/eval flag as it was before.

    Flags are restored module by module (``module.train(mode)`` would set a whole subtree to one mode, undoing a
    frozen submodule's eval mode). Autograd is off where the probe runs the model (sampling and scoring use
    ``torch.inference_mode``), so parameters and their gradients are left untouched. A trainer's mixed precision
    (TRL's bf16 default) is off inside too: the probe measures the model in its own dtype, as a checkpoint of it is
    measured after training, and the entropy head's check sees the model's own logits. Accelerate's mixed precision
    wraps the model's ``forward`` in autocast and keeps the plain one as ``_original_forward``: inside, the plain
    one is the model's ``forward``; after, the wrapped one again.
    """
    import torch

    flags = [(m, m.training) for m in model.modules()]
    mixed_forward = model.__dict__.get("forward") if "_original_forward" in model.__dict__ else None
    device_type = next(model.parameters()).device.type
    model.eval()
    if mixed_forward is not None:
        model.forward = model.__dict__["_original_forward"]
    try:
        with torch.autocast(device_type=device_type, enabled=False):
            yield
    finally:
        if mixed_forward is not None:
            model.forward = mixed_forward
        for m, training in flags:
            m.training = training


def check_not_empty(prompts: Any) -> None:
    """A probe file without a single record is refused as such (not as a file lacking the prompt field)."""
    if not (isinstance(prompts, (str, os.PathLike)) and Path(prompts).is_file()):
        return
    with open(prompts, "rb") as f:
        empty = not any(line.strip() for line in f)
    if empty:
        raise InputError(f"{os.fspath(prompts)}: the probe set has no prompt (the file is empty)")


def decode_sample(tokenizer: Any, ids: np.ndarray) -> str:
    return tokenizer.decode(ids.tolist(), skip_special_tokens=True, clean_up_tokenization_spaces=False)
