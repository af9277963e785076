"""Models and tokenizers saved by transformers: a model folder or a hub id (the local Hugging Face cache first),
safetensors weights only; their model sources (:class:`FolderSource`, :class:`HubSource`)."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from reasongraph.core.errors import ModelNotAvailableError
from reasongraph.models.device import resolve_device_dtype
from reasongraph.models.loaded import LoadedModel
from reasongraph.models.source import ModelSource

log = logging.getLogger("reasongraph")


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


class FolderSource(ModelSource):
    """A model folder saved by transformers (``save_pretrained``): a spec that exists or is written like a path."""

    @staticmethod
    def matches(spec: str) -> bool:
        path = Path(spec).expanduser()
        return path.exists() or _looks_like_path(spec, path)

    @property
    def name(self) -> str:
        path = Path(self.spec).expanduser()
        return path.resolve().name if path.is_dir() else self.spec

    def check(self) -> None:
        _local_or_hub(self.spec)

    def load(self, *, device: Any = None, dtype: Any = None) -> LoadedModel:
        device, dtype = resolve_device_dtype(device, dtype)
        directory, name = _local_or_hub(self.spec)
        return load_pretrained(directory, name=name, device=device, dtype=dtype)


class HubSource(ModelSource):
    """A Hugging Face hub id, read from the local Hugging Face cache first (else the hub): any other spec."""

    @property
    def name(self) -> str:
        return self.spec

    def check(self) -> None:
        _hub_config(self.spec)

    def load(self, *, device: Any = None, dtype: Any = None) -> LoadedModel:
        return load_pretrained(self.spec, name=self.spec, device=device, dtype=dtype)


def load_folder(path: str | os.PathLike, *, device: Any = None, dtype: Any = None) -> LoadedModel:
    """Load the transformers model saved in the folder ``path`` (config, tokenizer, safetensors weights)."""
    return FolderSource(os.fspath(path)).load(device=device, dtype=dtype)


def load_pretrained(directory: str | Path, *, name: str, device: Any = None, dtype: Any = None) -> LoadedModel:
    """The model and tokenizer ``from_pretrained`` reads from ``directory`` (a folder or a hub id), named ``name``."""
    device, dtype = resolve_device_dtype(device, dtype)
    model, tokenizer = _from_pretrained(directory, dtype, f"{name} ({device}, {str(dtype).removeprefix('torch.')})")
    return LoadedModel(model=model.to(device), tokenizer=tokenizer, name=name, device=device, dtype=dtype)


def _looks_like_path(spec: str, path: Path) -> bool:
    return spec.startswith((".", "/", "~")) or os.sep in spec and path.parts[0] in (".", "..", "/")


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
    if path.exists() or _looks_like_path(spec, path):
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


def from_pretrained_tokenizer(directory: str | os.PathLike) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(directory)
    except OSError as e:
        raise ModelNotAvailableError(f"cannot load a tokenizer from {os.fspath(directory)}: {e}") from None
