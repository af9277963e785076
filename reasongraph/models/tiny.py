"""A tiny random-initialized Llama and its shipped tokenizer: fast, for tests and benchmarks."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from reasongraph.core.errors import InputError, opt
from reasongraph.core.options import SEED
from reasongraph.models.device import resolve_device_dtype
from reasongraph.models.loaded import LoadedModel
from reasongraph.models.pretrained import from_pretrained_tokenizer
from reasongraph.models.smollm2 import dequantized_dir, default_gguf_path
from reasongraph.models.source import ModelSource


#: The tiny random model's tokenizer: a 4,096-token byte-level BPE with SmolLM2's pre-tokenizer and special tokens
#: (rebuilt by tests/data/make_tiny_tokenizer.py).
TINY_TOKENIZER = Path(__file__).resolve().parent / "assets" / "tiny_tokenizer"
_TINY_SPEC = re.compile(r"tiny-random(?:-llama)?(?:-(\d+))?")


class TinySource(ModelSource):
    """``tiny-random[-llama][-SEED]``: :func:`tiny_random_model` with that seed (0 when none)."""

    @staticmethod
    def matches(spec: str) -> bool:
        return _TINY_SPEC.fullmatch(spec) is not None

    @property
    def seed(self) -> int:
        return int(_TINY_SPEC.fullmatch(self.spec).group(1) or 0)

    @property
    def name(self) -> str:
        return f"tiny-random-llama-{self.seed}"

    def load(self, *, device: Any = None, dtype: Any = None) -> LoadedModel:
        return tiny_random_model(seed=self.seed, device=device, dtype=dtype)


def tiny_random_model(seed: int = SEED.default, num_layers: int = 2, hidden_size: int = 64, context_length: int = 2048,
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
        tokenizer = from_pretrained_tokenizer(TINY_TOKENIZER)
    elif tokenizer == "smollm2":
        tokenizer = from_pretrained_tokenizer(dequantized_dir(default_gguf_path()))
    elif isinstance(tokenizer, (str, os.PathLike)):
        if not Path(tokenizer).is_dir():  # never a hub id: a missing folder must not turn into a download
            raise InputError(f"{opt('tokenizer')} must be a tokenizer folder, got {os.fspath(tokenizer)!r} "
                             "(not a directory)")
        tokenizer = from_pretrained_tokenizer(tokenizer)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=context_length, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(device=device, dtype=dtype).eval().requires_grad_(False)
    return LoadedModel(model=model, tokenizer=tokenizer, name=f"tiny-random-llama-{seed}", device=device, dtype=dtype)
