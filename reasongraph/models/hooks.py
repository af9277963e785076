"""Forward hooks on a model's decoder blocks: the hidden states of chosen layers, captured in one pass."""
from __future__ import annotations

from typing import Any

from reasongraph.core.errors import InputError


class capture_layers:
    """Context manager: forward hooks that keep ``hidden_states[i]`` for the requested i only.

    hidden_states[0] is the embedding output, hidden_states[i] the output of block i-1, and the last one is taken
    after the final norm, matching transformers' ``output_hidden_states`` convention.
    """

    def __init__(self, model: Any, layer_ids: tuple[int, ...]):
        self.model, self.layer_ids = model, layer_ids
        self.captured: dict[int, Any] = {}
        self.handles: list[Any] = []

    def __enter__(self) -> dict[int, Any]:
        blocks = decoder_blocks(self.model)
        n = len(blocks)
        for i in self.layer_ids:
            if i == 0:
                module = self.model.get_input_embeddings()
            elif i == n:
                module = final_norm(self.model)
            else:
                module = blocks[i - 1]
            self.handles.append(module.register_forward_hook(self._hook(i)))
        return self.captured

    def _hook(self, index: int):
        def hook(_module, _inputs, output):
            self.captured[index] = output[0] if isinstance(output, (tuple, list)) else output
        return hook

    def __exit__(self, *exc) -> None:
        for h in self.handles:
            h.remove()


def decoder_blocks(model: Any) -> Any:
    """The ModuleList of transformer blocks (``layers`` in Llama/Qwen/Mistral, ``h`` in GPT-2)."""
    import torch

    n = model.config.num_hidden_layers
    for module in model.get_decoder().children():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n:
            return module
    raise InputError(f"cannot find the {n} transformer blocks of {type(model).__name__} to hook")


def final_norm(model: Any) -> Any:
    decoder = model.get_decoder()
    for name in ("norm", "ln_f", "final_layernorm", "final_layer_norm"):
        if hasattr(decoder, name):
            return getattr(decoder, name)
    raise InputError(f"cannot find the final norm of {type(model).__name__}; choose a layer below the last")
