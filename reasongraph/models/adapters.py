"""LoRA (peft) adapters over a base model: the ``BASE+ADAPTER_DIR`` model spec, the adapter's identity, merging.

``smollm2-135m+fixtures/smollm2-grpo-lora`` loads the base model as any spec loads, applies the peft adapter saved
in the folder (offline), and merges it into the base weights (``merge_and_unload``), so the result is a plain
transformers model and hooks and extraction work unchanged. The spec is split on its last ``+``, and only when
the right side is a folder holding ``adapter_config.json``; a spec that is an existing path with a ``+`` in its
name stays a path. Anything else with a ``+`` is one clear error.

Only ``adapter_model.safetensors`` is ever read (never a pickled ``adapter_model.bin``). The adapter's identity
is a SHA-256 of its tensors (name, dtype, shape and bytes, in sorted name order) and of its config as canonical
JSON without the fields that name places or versions (``base_model_name_or_path``, ...): renaming or moving the
folder keeps it, changing one weight changes it. It is computed from the safetensors header and bytes, without
torch, so a model's name is known without loading anything.
"""
from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path
from typing import Any

from reasongraph.core.errors import ModelNotAvailableError

__all__ = ["ADAPTER_CONFIG", "ADAPTER_WEIGHTS", "check_adapter", "merge_adapter", "split_adapter_spec"]


ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
_PICKLED_WEIGHTS = "adapter_model.bin"
_PEFT_HINT = "pip install 'reasongraph[peft]' (or: pip install peft)"


def split_adapter_spec(spec: str) -> tuple[str, Path] | None:
    """``(base spec, adapter folder)`` for ``BASE+ADAPTER_DIR``, or None for a spec without an adapter.

    Raises
    ------
    ModelNotAvailableError : a ``+`` whose right side is no adapter folder (missing, a file, a folder without
        adapter_config.json), unless the whole spec is an existing path; an empty base.
    """
    if "+" not in spec:
        return None
    base, _, right = spec.rpartition("+")
    folder = Path(right).expanduser()
    if (folder / ADAPTER_CONFIG).is_file():
        if not base.strip():
            raise ModelNotAvailableError(f"model {spec!r}: no base model before the '+' (write BASE+ADAPTER_DIR, "
                                         "for example smollm2-135m+path/to/adapter)")
        return base, folder
    if Path(spec).expanduser().exists():  # a model folder or .gguf file whose path holds a '+'
        return None
    what = ("is a file, not a folder" if folder.is_file() else f"holds no {ADAPTER_CONFIG}" if folder.is_dir()
            else "does not exist")
    raise ModelNotAvailableError(f"model {spec!r}: the part after the last '+', {right!r}, {what}; a model with an "
                                 f"adapter is written BASE+ADAPTER_DIR, where ADAPTER_DIR holds a peft adapter "
                                 f"({ADAPTER_CONFIG} and {ADAPTER_WEIGHTS})")


def check_adapter(folder: Path, spec: str, *, need_peft: bool = True) -> None:
    """Raise ModelNotAvailableError unless ``folder`` holds a readable adapter (config JSON with a peft_type, and
    safetensors weights) and, with ``need_peft``, peft is installed. Reads no tensor."""
    _config(folder, spec)
    weights = folder / ADAPTER_WEIGHTS
    if not weights.is_file():
        pickled = (folder / _PICKLED_WEIGHTS).is_file()
        raise ModelNotAvailableError(
            f"model {spec!r}: the adapter folder {folder} holds no {ADAPTER_WEIGHTS}"
            + (f" (only {_PICKLED_WEIGHTS}, a pickle, which reasongraph never loads: save the adapter again with "
               "save_pretrained(..., safe_serialization=True))" if pickled else ""))
    if need_peft and importlib.util.find_spec("peft") is None:
        raise ModelNotAvailableError(f"model {spec!r}: loading a LoRA adapter needs peft: {_PEFT_HINT}")


def _config(folder: Path, spec: str) -> dict:
    path = folder / ADAPTER_CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelNotAvailableError(f"model {spec!r}: cannot read {path}: {e}") from None
    if not isinstance(config, dict) or not isinstance(config.get("peft_type"), str):
        raise ModelNotAvailableError(f"model {spec!r}: {path} is not a peft adapter config (no peft_type)")
    return config


def merge_adapter(model: Any, folder: Path, spec: str) -> Any:
    """``model`` with the adapter in ``folder`` applied and merged into its weights (peft's merge_and_unload); the
    adapter's weights are read from safetensors only. Raises ModelNotAvailableError when the adapter does not fit
    the model (modules it targets are missing, a tensor of another shape, a tensor the model has no place for)."""
    check_adapter(folder, spec)
    from peft import PeftConfig, PeftModel, set_peft_model_state_dict
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        with warnings.catch_warnings():  # transformers' deprecation notes on peft's calls are not the user's
            warnings.simplefilter("ignore", FutureWarning)
            config = PeftConfig.from_pretrained(str(folder))
            config.inference_mode = True
            wrapped = PeftModel(model, config)
            loaded = set_peft_model_state_dict(wrapped, load_file(folder / ADAPTER_WEIGHTS))
    except (ValueError, TypeError, RuntimeError, KeyError, SafetensorError) as e:
        lines = [line.strip() for line in str(e).splitlines() if line.strip()] or [type(e).__name__]
        why = next((line for line in lines if "mismatch" in line), lines[0])  # torch's first line says nothing
        raise ModelNotAvailableError(f"model {spec!r}: the adapter in {folder} does not fit the base model: "
                                     f"{why[:300]}") from None
    unexpected = list(getattr(loaded, "unexpected_keys", []))
    missing = [k for k in getattr(loaded, "missing_keys", []) if "lora_" in k]
    if unexpected or missing:
        names = ", ".join((unexpected or missing)[:3])
        raise ModelNotAvailableError(f"model {spec!r}: the adapter in {folder} does not fit the base model "
                                     f"({'tensors the model has no place for' if unexpected else 'missing tensors'}: "
                                     f"{names})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return wrapped.merge_and_unload().eval().requires_grad_(False)
