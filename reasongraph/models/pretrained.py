"""Models and tokenizers saved by transformers: a model folder or a hub id (the local Hugging Face cache first),
safetensors weights only."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from reasongraph.core.errors import ModelNotAvailableError

log = logging.getLogger("reasongraph")


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def _hub_config(hub_id: str) -> None:
    from transformers import AutoConfig

    try:
        try:
            AutoConfig.from_pretrained(hub_id, local_files_only=True)
        except OSError:
            if os.environ.get("HF_HUB_OFFLINE"):
                raise
            AutoConfig.from_pretrained(hub_id)
    except OSError as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0].rstrip(".")
        raise ModelNotAvailableError(f"cannot load model {hub_id!r}: looked for the hub id in the Hugging Face cache "
                                     f"({_hf_cache()}) and on the hub: {first}") from None


def _local_or_hub(spec: str) -> tuple[str, str]:
    """(what to pass to from_pretrained, the model's name) for a local folder or a hub id.

    A spec that names a path (it exists, or it starts like one) must be a model folder: one with a config.json
    and tokenizer files. Anything else is a hub id, read from the local Hugging Face cache (or the hub).
    """
    path = Path(spec).expanduser()
    looks_like_path = spec.startswith((".", "/", "~")) or os.sep in spec and path.parts[0] in (".", "..", "/")
    if path.exists() or looks_like_path:
        if not path.is_dir():
            raise ModelNotAvailableError(f"model {spec!r}: {path} is not a model folder"
                                         + ("" if path.exists() else " (no such path)"))
        if not (path / "config.json").is_file():
            raise ModelNotAvailableError(f"model {spec!r}: the folder {path} holds no config.json, so it is not a "
                                         "saved transformers model (save one with save_pretrained)")
        if not any((path / f).is_file() for f in _TOKENIZER_FILES):
            raise ModelNotAvailableError(f"model {spec!r}: the folder {path} holds no tokenizer (looked for "
                                         f"{', '.join(_TOKENIZER_FILES)}); save the tokenizer beside the model")
        return str(path), path.resolve().name
    return spec, spec


def _from_pretrained(directory: str | Path, dtype: Any, what: str) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    def load(local_files_only: bool) -> tuple[Any, Any]:
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=local_files_only)
        log.info("loading %s", what)  # once its files are found: the weights of a big model take minutes
        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # the library never prints: no "Loading weights" bar in logs
        try:
            model = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype, use_safetensors=True,
                                                         local_files_only=local_files_only)
        finally:
            if bar:
                hf_logging.enable_progress_bar()
        return model, tokenizer

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # the library never prints: no "Loading weights" bar on stderr
    try:
        try:  # the local cache first: no network round trips for a model that is already here
            model, tokenizer = load(local_files_only=True)
        except OSError:
            if Path(directory).exists() or os.environ.get("HF_HUB_OFFLINE"):
                raise
            model, tokenizer = load(local_files_only=False)
    except OSError as e:
        hub = " (offline: HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE") else " and on the hub"
        where = (f"looked for the hub id {directory!r} in the Hugging Face cache ({_hf_cache()}){hub}"
                 if not Path(directory).exists() else f"read {directory}")
        first = (str(e).strip().splitlines() or [type(e).__name__])[0].rstrip(".")
        raise ModelNotAvailableError(f"cannot load model {str(directory)!r}: {where}: {first}. A model name is "
                                     f"smollm2-135m, tiny-random, a .gguf file, a model folder or a hub id") from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    model.eval().requires_grad_(False)
    return model, tokenizer


def _hf_cache() -> str:
    home = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
    return os.environ.get("HF_HUB_CACHE") or str(Path(home) / "hub")


def _from_pretrained_tokenizer(directory: str | os.PathLike) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(directory)
    except OSError as e:
        raise ModelNotAvailableError(f"cannot load a tokenizer from {os.fspath(directory)}: {e}") from None
