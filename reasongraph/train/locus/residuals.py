"""The residual stream before the final norm, captured and patched with hooks on the transformer blocks.

h_l is the residual stream after block l (h_0 the embedding output), taken **before** the final norm. Hugging
Face's ``output_hidden_states`` ends with the state *after* the final norm in Llama-style models, and
:class:`reasongraph.models.hooks.capture_layers` follows that convention; here every h_l, the last included, is a
block's own output, so the head of any model can be applied to it: head_M(h) = W_M norm_M(h).

:class:`capture_residuals` hands each requested h_l to a callback as the forward pass produces it, so a caller
keeps only what it needs (a few sampled rows, one layer at a time) rather than every layer of a long sequence.
:func:`start_at` runs a model from a given h_l: blocks 1..l are replaced by pass-throughs (the last of them
returns h_l), so blocks l+1..L, the final norm and the head run on the full sequence with the model's own masks
and positions, and blocks 1..l cost nothing. Capture and patch use the same module boundaries, so a model
patched with its own states reproduces its own output exactly.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from reasongraph.models.hooks import decoder_blocks

__all__ = ["capture_residuals", "decoder_output", "start_at"]


class capture_residuals:
    """Context manager: ``sink(l, h)`` is called with each requested h_l (batch x seq x d, on the device) during
    every forward pass inside the block.

    ``layers`` are indices 0..L: 0 the embedding output, l >= 1 the output of block l (before the final norm).
    """

    def __init__(self, model: Any, layers: Sequence[int], sink: Callable[[int, Any], None]) -> None:
        self.model, self.layers, self.sink = model, tuple(layers), sink
        self.handles: list[Any] = []

    def __enter__(self) -> "capture_residuals":
        blocks = decoder_blocks(self.model)
        for layer in self.layers:
            if not 0 <= layer <= len(blocks):
                raise ValueError(f"layer {layer} is outside 0..{len(blocks)}")
            module = self.model.get_input_embeddings() if layer == 0 else blocks[layer - 1]
            self.handles.append(module.register_forward_hook(self._hook(layer)))
        return self

    def _hook(self, layer: int):
        def hook(_module, _inputs, output):
            self.sink(layer, output[0] if isinstance(output, (tuple, list)) else output)
        return hook

    def __exit__(self, *exc) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()


def decoder_output(model: Any, ids: Any) -> Any:
    """The decoder's last hidden state (after the final norm) for one unpadded batch of token ids."""
    return model.get_decoder()(input_ids=ids, use_cache=False).last_hidden_state


@functools.cache
def _pass_through_class() -> type:
    import torch

    class PassThrough(torch.nn.Module):
        """Stands in for a transformer block: returns its input, or a fixed tensor (the patched h_l), shaped as
        the block it replaces returns its output (a tensor, or a tuple whose first item is the hidden state)."""

        def __init__(self, fixed: Any, as_tuple: bool) -> None:
            super().__init__()
            self.fixed, self.as_tuple = fixed, as_tuple

        def forward(self, hidden_states: Any, *args: Any, **kwargs: Any) -> Any:
            out = hidden_states if self.fixed is None else self.fixed
            return (out,) if self.as_tuple else out

    return PassThrough


_TUPLE_BLOCKS: dict[int, bool] = {}


def _returns_tuple(model: Any) -> bool:
    """Whether this model's blocks return a tuple (older and some remote-code models) or a tensor (transformers 5's
    Llama, Qwen, Gemma); found once per model class with a one-token forward pass."""
    import torch

    key = id(type(model))
    if key not in _TUPLE_BLOCKS:
        seen: list[bool] = []
        handle = decoder_blocks(model)[0].register_forward_hook(
            lambda _m, _i, output: seen.append(isinstance(output, (tuple, list))))
        try:
            first = next(model.parameters())
            with torch.inference_mode():
                decoder_output(model, torch.zeros((1, 1), dtype=torch.long, device=first.device))
        finally:
            handle.remove()
        _TUPLE_BLOCKS[key] = bool(seen and seen[0])
    return _TUPLE_BLOCKS[key]


@contextmanager
def start_at(model: Any, layer: int, state: Any) -> Iterator[None]:
    """Inside the block, a forward pass of ``model`` runs from h_``layer`` = ``state`` (batch x seq x d, the model's
    device and dtype): the embedding output (layer 0) or the output of block ``layer`` is replaced by it, and the
    blocks before it are skipped. The model's blocks and hooks are restored on exit."""
    blocks = decoder_blocks(model)
    if not 0 <= layer <= len(blocks):
        raise ValueError(f"layer {layer} is outside 0..{len(blocks)}")
    saved = list(blocks)
    handle = None
    try:
        if layer == 0:
            handle = model.get_input_embeddings().register_forward_hook(lambda _m, _i, _o: state)
        else:
            as_tuple = _returns_tuple(model)
            for k in range(layer):
                blocks[k] = _pass_through_class()(state if k == layer - 1 else None, as_tuple)
        yield
    finally:
        for k, module in enumerate(saved):
            blocks[k] = module
        if handle is not None:
            handle.remove()
