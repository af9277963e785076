"""Tokenizing a prompt and a trace apart and joining their ids, so the trace's character offsets stay exact."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from reasongraph.core.errors import InputError, opt
from reasongraph.core.text import find_lone_surrogate
from reasongraph.trace.options import ExtractOptions


# A token of a real tokenizer rarely spans more than ~16 characters; text beyond the context times this factor
# cannot fit, whatever its tokens.
MAX_CHARS_PER_TOKEN = 32


@dataclass
class Encoded:
    """One (prompt, trace) pair as model input."""

    input_ids: list[int]
    prompt_len: int
    offsets: np.ndarray  # (n_tokens, 2) spans into text
    text: str
    prompt: str | None
    dropped: int = 0


def encode(lm: Any, text: str, prompt: str | None, prompt_format: str = ExtractOptions.prompt_format,
           truncate: bool = ExtractOptions.truncate, index: int = 0) -> Encoded:
    """Tokenize prompt and trace separately (so the trace's character offsets are exact) and join the ids."""
    where = f"trace {index}" if index else "the trace"
    # a response may be empty (a sample that ended at once): it needs the prompt it answers to be a trace at all
    _check_text(text, where, allow_blank=bool(prompt))
    if prompt is not None:
        _check_text(prompt, f"the prompt of {where}", allow_blank=True)
    tok = lm.tokenizer
    if not getattr(tok, "is_fast", False):
        raise InputError(f"{lm.name}: exact character offsets need a fast (Rust) tokenizer")
    # Tokenizing a 50 MB line takes minutes: refuse (or cut) text far beyond the context before tokenizing it.
    max_chars = lm.context_length * MAX_CHARS_PER_TOKEN
    if prompt is not None and len(prompt) > max_chars:  # truncation keeps the prompt whole, so it must fit
        raise InputError(f"the prompt of {where} is {len(prompt):,} characters, far beyond the model's context of "
                         f"{lm.context_length} tokens")
    prefix = encode_prompt(tok, prompt, prompt_format)
    n_chars = len(text)
    if n_chars > max_chars:
        if not truncate:
            raise InputError(f"{where} is {len(text):,} characters, far beyond the model's context of "
                             f"{lm.context_length} tokens; set {opt('truncate', 'True')} to keep what fits")
        text = text[:max_chars]
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = list(enc["input_ids"]), _close_gaps(np.asarray(enc["offset_mapping"], dtype=np.int64), len(text))
    room = lm.context_length - len(prefix)
    dropped = max(0, len(ids) - room)
    if dropped:
        if not truncate or room <= 0:
            raise InputError(f"{where} is {len(prefix) + len(ids)} tokens (prompt {len(prefix)}), longer than the "
                             f"model's context of {lm.context_length}; set {opt('truncate', 'True')} to keep what "
                             "fits")
        of = f"{len(ids)} trace tokens" if n_chars <= max_chars else \
            f"the tokens of its first {max_chars:,} of {n_chars:,} characters"
        warnings.warn(f"{where}: dropped the last {dropped} of {of} to fit the context of {lm.context_length}",
                      stacklevel=3)
        ids, offsets = ids[:room], offsets[:room]
        text = text[:int(offsets[-1, 1])]
    return Encoded(prefix + ids, len(prefix), offsets, text, prompt, dropped)


def _check_text(text: Any, where: str, allow_blank: bool = False) -> None:
    if isinstance(text, (bytes, bytearray)):
        raise InputError(f"{where} must be a str, got bytes: decode it first (e.g. data.decode('utf-8'))")
    if not isinstance(text, str):
        raise InputError(f"{where} must be a str, got {type(text).__name__}")
    if not allow_blank and not text.strip():
        raise InputError(f"{where} is empty or whitespace-only, with no prompt; there is nothing to analyze")
    bad = find_lone_surrogate(text)
    if bad:
        raise InputError(f"{where} holds a lone surrogate (U+{ord(bad.group()):04X}) at character {bad.start()}: "
                         "it is not valid Unicode text (was it decoded with errors='surrogateescape'?)")


def encode_prompt(tok: Any, prompt: str | None, prompt_format: str) -> list[int]:
    if prompt_format == "chat":
        if not getattr(tok, "chat_template", None):
            raise InputError(f"{opt('prompt_format', 'chat')} needs a tokenizer with a chat template; this one has "
                             "none")
        messages = [{"role": "user", "content": prompt or ""}]
        rendered = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return list(tok(rendered, add_special_tokens=False)["input_ids"])
    if prompt:
        return list(tok(prompt, add_special_tokens=True)["input_ids"])
    # No prompt: the BOS token (if any) predicts the first trace token; otherwise entropy[0] stays NaN.
    return [tok.bos_token_id] if tok.bos_token_id is not None else []


def _close_gaps(offsets: np.ndarray, n_chars: int) -> np.ndarray:
    """Make token spans cover the text: characters a tokenizer trimmed (spaces) join the token after them."""
    offsets = offsets.reshape(-1, 2).copy()
    if len(offsets):
        ends_before = np.concatenate([[0], np.maximum.accumulate(offsets[:-1, 1])])
        offsets[:, 0] = np.minimum(offsets[:, 0], np.maximum(ends_before, 0))
        offsets[-1, 1] = max(offsets[-1, 1], n_chars)
    return offsets
