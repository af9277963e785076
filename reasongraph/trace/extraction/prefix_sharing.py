"""Shared prompt prefixes in teacher-forced extraction: a prompt that several traces answer runs once.

On-policy data holds several samples of each prompt, and a teacher-forced pass over each (prompt + trace) runs
the same prompt tokens again for every sample: 39% of the tokens of the temperature example's scoring run were
prompts. A prompt's tokens never reach the LM head (entropy is taken at trace positions only), so all they
contribute is their keys and values: :class:`PrefixCache` computes those once, for the prompt's tokens but its
last, and hands a copy to each batch of continuations (the last prompt token, whose logits predict the first trace
token, then the trace), as sampling does with a prompt's rows (:mod:`reasongraph.trace.sampling`).

The results equal one pass over prompt + trace up to float rounding: the same keys, values and positions, summed
in another order (the tolerance tests in tests/test_prefix_sharing.py).
"""
from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from typing import Any

__all__ = ["PrefixCache", "shared_prompt_groups"]


def shared_prompt_groups(prompts: Sequence[Sequence[int]], *, min_rows: int = 2) -> list[list[int]]:
    """Indices of the items whose prompt ids (of at least 2 tokens: one to cache, one to read) at least
    ``min_rows`` items share, one list per distinct prompt, in order of first appearance."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, ids in enumerate(prompts):
        if len(ids) >= 2:
            groups.setdefault(tuple(ids), []).append(i)
    return [members for members in groups.values() if len(members) >= min_rows]


class PrefixCache:
    """The KV cache of one token prefix, computed once (decoder only, no head) and copied for each batch.

    Parameters
    ----------
    lm : the model (a :class:`~reasongraph.models.loaded.LoadedModel`).
    ids : the prefix's token ids (a prompt's ids but its last).
    """

    def __init__(self, lm: Any, ids: Sequence[int]) -> None:
        import torch

        self.length = len(ids)
        self.device = lm.device
        with torch.inference_mode():
            x = torch.tensor([list(ids)], dtype=torch.long, device=lm.device)
            out = lm.model.get_decoder()(input_ids=x, attention_mask=torch.ones_like(x), use_cache=True)
        self.cache = out.cache if hasattr(out, "cache") else out.past_key_values  # renamed in transformers 5

    def forward_kwargs(self, decoder: Any, suffix_mask: Any) -> dict:
        """The keyword arguments of ``decoder`` (the model's trunk) for a batch of continuations (rows x suffix,
        right-padded, with its attention mask ``suffix_mask``): a copy of the cache for each row, the mask over
        prefix + suffix and the positions after the prefix."""
        import torch

        rows, width = suffix_mask.shape
        cache = copy.deepcopy(self.cache)
        cache.reorder_cache(torch.zeros(rows, dtype=torch.long, device=self.device))
        prefix = torch.ones((rows, self.length), dtype=suffix_mask.dtype, device=suffix_mask.device)
        positions = torch.arange(self.length, self.length + width, device=suffix_mask.device).expand(rows, -1)
        key = "cache" if "cache" in inspect.signature(decoder.forward).parameters else "past_key_values"
        return {"attention_mask": torch.cat([prefix, suffix_mask], dim=1), "position_ids": positions,
                "use_cache": True, key: cache}
