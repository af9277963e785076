"""What differs between transformers releases: the static cache, its keyword, last-token logits."""
from __future__ import annotations

import inspect
from typing import Any


def static_cache(model: Any, length: int) -> Any:
    """A transformers ``StaticCache`` of ``length`` tokens; None where this transformers builds it otherwise."""
    try:
        from transformers import StaticCache

        return StaticCache(config=model.config, max_cache_len=length)
    except (ImportError, TypeError, ValueError):  # older releases also wanted the batch size, device and dtype
        return None


def cache_keyword(model: Any) -> str:
    """transformers 5 renamed the KV cache argument and output field from past_key_values to cache."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def last_logits_only(model: Any) -> dict:
    """``logits_to_keep=1`` where the model takes it: the head runs on the last position only (a prompt pass
    would otherwise build a prompt x vocabulary logits matrix per row)."""
    return {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
