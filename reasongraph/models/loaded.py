"""A loaded model, its tokenizer and what identifies its outputs (:class:`LoadedModel`)."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from reasongraph.core.hashing import config_sha256


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
        found = {"name": self.base_name if self.adapters else self.name, "dtype": str(self.dtype),
                 "device": getattr(self.device, "type", str(self.device)), "hidden_size": self.hidden_size,
                 "num_layers": self.num_layers, "config": config_sha256(self.model.config)}
        return {**found, "adapters": list(self.adapters)} if self.adapters else found

    def __repr__(self) -> str:
        return f"LoadedModel(name={self.name!r}, layers={self.num_layers}, device={self.device}, dtype={self.dtype})"
