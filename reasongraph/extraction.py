"""Teacher-forced extraction: one forward pass over prompt + trace gives token entropies, log-probs, the chosen
layers' hidden states and the steps, as a :class:`~reasongraph.trace.Trace`.

Memory is kept lean on purpose: forward hooks capture only the requested layers (``output_hidden_states`` would
keep every layer), and entropy comes from the final hidden states through the LM head one vocabulary tile at a
time (:mod:`reasongraph.vocab_entropy`), so no full tokens x vocabulary float32 matrix is ever allocated.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from reasongraph.errors import InputError, opt
from reasongraph.segment import segment_steps, validate_segmenter
from reasongraph.trace import Trace
from reasongraph.validate import check_choice, check_number, check_optional_int
from reasongraph.vocab_entropy import check_head, token_entropy

LayerSpec = int | float
BATCH_TOKEN_BUDGET = 4096  # padded tokens per forward pass when batch_size is None
# A token of a real tokenizer rarely spans more than ~16 characters; text beyond the context times this factor
# cannot fit, whatever its tokens.
MAX_CHARS_PER_TOKEN = 32
_SURROGATE = re.compile("[\ud800-\udfff]")
_default_model = None


@dataclass
class _Encoded:
    """One (prompt, trace) pair as model input."""

    input_ids: list[int]
    prompt_len: int
    offsets: np.ndarray  # (n_tokens, 2) spans into text
    text: str
    prompt: str | None
    dropped: int = 0


def extract(text: str, prompt: str | None = None, model: Any = None, layers: Sequence[LayerSpec] = (0.9,),
            segment: str = "newline", temperature: float = 1.0, prompt_format: str = "raw",
            truncate: bool = False) -> Trace:
    """Run the model over one trace, teacher-forced, and return what it saw.

    Parameters
    ----------
    text : the reasoning trace (what the model is scored on).
    prompt : what the trace answers; its tokens come first and are not part of the trace.
    model : a :class:`~reasongraph.models.LoadedModel` or a spec for :func:`~reasongraph.models.load_model`;
        None loads the default model once per process.
    layers : which hidden states to keep: an int index into ``hidden_states`` (0 = embedding output, negative
        counts from the end) or a float r in [0, 1] meaning ``int(num_layers * r)`` as in Topology of Reasoning.
    segment : how to split the trace into steps: newline, sentence, paragraph, window:N or token.
    temperature : entropies and log-probs use ``softmax(logits / temperature)``.
    prompt_format : "raw" feeds prompt tokens then trace tokens; "chat" wraps the prompt in the tokenizer's chat
        template as a user turn and the trace as the assistant's reply.
    truncate : a trace longer than the model's context is an error, unless True: then the tokens that fit are
        kept (with a warning giving the number dropped) and ``text`` is cut to them.
    """
    return extract_batch([text], None if prompt is None else [prompt], model=model, layers=layers,
                         segment=segment, temperature=temperature, prompt_format=prompt_format,
                         truncate=truncate, batch_size=1)[0]


def extract_batch(texts: Sequence[str], prompts: Sequence[str | None] | None = None, model: Any = None,
                  batch_size: int | None = None, layers: Sequence[LayerSpec] = (0.9,), segment: str = "newline",
                  temperature: float = 1.0, prompt_format: str = "raw", truncate: bool = False) -> list[Trace]:
    """:func:`extract` for many traces: padded, masked batches, results equal to one-at-a-time extraction.

    ``batch_size`` None groups traces of similar length up to ~4096 padded tokens per forward pass.
    """
    check_extract_options(layers=layers, segment=segment, temperature=temperature, prompt_format=prompt_format,
                          truncate=truncate)
    if isinstance(texts, (str, bytes)):
        raise InputError("texts must be a list of traces, not a single string (use extract for one trace)")
    if not isinstance(texts, Sequence):
        raise InputError(f"texts must be a list of traces, got {type(texts).__name__}")
    prompts = [None] * len(texts) if prompts is None else list(prompts)
    if len(prompts) != len(texts):
        raise InputError(f"got {len(texts)} texts but {len(prompts)} prompts")
    check_optional_int("batch_size", batch_size, low=1)
    lm = resolve_model(model)
    layer_ids = resolve_layers(layers, lm.num_layers)
    check_head(lm)
    encoded = [encode(lm, t, p, prompt_format, truncate, index=i) for i, (t, p) in enumerate(zip(texts, prompts))]
    results: list[Trace | None] = [None] * len(encoded)
    for batch in _length_batches(encoded, batch_size):
        outs = _forward([encoded[i] for i in batch], lm, layer_ids, temperature)
        for i, (entropy, logprob, hidden) in zip(batch, outs):
            results[i] = _make_trace(encoded[i], entropy, logprob, hidden, lm, layer_ids, segment, temperature)
    return results  # type: ignore[return-value]


PROMPT_FORMATS = ("raw", "chat")


def check_extract_options(*, layers: Sequence[LayerSpec] = (0.9,), segment: str = "newline",
                          temperature: float = 1.0, prompt_format: str = "raw", truncate: bool = False) -> None:
    """Raise InputError for the first extraction option out of range: each is checked before a model loads."""
    validate_segmenter(segment)
    check_number("temperature", temperature, low=0, low_open=True)
    check_choice("prompt_format", prompt_format, PROMPT_FORMATS)
    if not isinstance(truncate, bool):
        raise InputError(f"{opt('truncate')} must be True or False, got {truncate!r}")
    try:
        if isinstance(layers, (str, bytes)):
            raise TypeError
        specs = (layers,) if isinstance(layers, (int, float, np.integer)) else tuple(layers)
    except TypeError:
        raise InputError(f"{opt('layers')} must be a layer or a list of layers, got {layers!r}") from None
    for spec in specs:
        if isinstance(spec, bool) or not isinstance(spec, (int, float, np.integer, np.floating)):
            raise InputError(f"{opt('layers')}: a layer is an int index or a float ratio, got {spec!r}")
        if isinstance(spec, (float, np.floating)) and not 0.0 < spec <= 1.0:
            raise InputError(f"{opt('layers')}: a layer ratio is a share of the depth in (0, 1], got {spec}")
    if len(set(specs)) < len(specs):
        raise InputError(f"{opt('layers')} names a layer twice: {list(specs)}")


def resolve_model(model: Any) -> Any:
    """A LoadedModel from a LoadedModel, a spec string, or None (the default model, loaded once)."""
    global _default_model
    from reasongraph.models import LoadedModel, load_model

    if isinstance(model, LoadedModel):
        return model
    if model is None:
        if _default_model is None:
            _default_model = load_model()
        return _default_model
    return load_model(model)


def resolve_layers(layers: Sequence[LayerSpec], num_layers: int) -> tuple[int, ...]:
    """Map layer specs to indices into ``hidden_states`` (0 .. num_layers), in the order given (the first gives
    the step vectors), each once."""
    if isinstance(layers, (int, float, np.integer)):
        layers = (layers,)
    out: dict[int, None] = {}
    for spec in layers:
        if isinstance(spec, bool) or not isinstance(spec, (int, float, np.integer, np.floating)):
            raise InputError(f"{opt('layers')}: a layer is an int index or a float ratio, got {spec!r}")
        if isinstance(spec, (float, np.floating)):
            if not 0.0 <= spec <= 1.0:
                raise InputError(f"{opt('layers')}: a layer ratio is a share of the depth in (0, 1], got {spec}")
            index = int(num_layers * spec)
        else:
            index = int(spec) + (num_layers + 1 if spec < 0 else 0)
        if not 0 <= index <= num_layers:
            raise InputError(f"{opt('layers')}: layer {spec} is out of range: the model has hidden states "
                             f"0..{num_layers}")
        out[index] = None
    return tuple(out)


def encode(lm: Any, text: str, prompt: str | None, prompt_format: str = "raw", truncate: bool = False,
           index: int = 0) -> _Encoded:
    """Tokenize prompt and trace separately (so the trace's character offsets are exact) and join the ids."""
    where = f"trace {index}" if index else "the trace"
    _check_text(text, where)
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
    prefix = _prompt_ids(tok, prompt, prompt_format)
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
    return _Encoded(prefix + ids, len(prefix), offsets, text, prompt, dropped)


def _check_text(text: Any, where: str, allow_blank: bool = False) -> None:
    if isinstance(text, (bytes, bytearray)):
        raise InputError(f"{where} must be a str, got bytes: decode it first (e.g. data.decode('utf-8'))")
    if not isinstance(text, str):
        raise InputError(f"{where} must be a str, got {type(text).__name__}")
    if not allow_blank and not text.strip():
        raise InputError(f"{where} is empty or whitespace-only; there is nothing to analyze")
    bad = _SURROGATE.search(text)
    if bad:
        raise InputError(f"{where} holds a lone surrogate (U+{ord(bad.group()):04X}) at character {bad.start()}: "
                         "it is not valid Unicode text (was it decoded with errors='surrogateescape'?)")


def _prompt_ids(tok: Any, prompt: str | None, prompt_format: str) -> list[int]:
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


def _length_batches(encoded: list[_Encoded], batch_size: int | None) -> list[list[int]]:
    """Group indices of similar length so padding stays small."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].input_ids))
    batches: list[list[int]] = []
    for i in order:
        n = len(encoded[i].input_ids)
        if batches:
            cur = batches[-1]
            full = len(cur) >= batch_size if batch_size else (len(cur) + 1) * n > BATCH_TOKEN_BUDGET
            if not full:
                cur.append(i)
                continue
        batches.append([i])
    return batches


def _forward(items: list[_Encoded], lm: Any, layer_ids: tuple[int, ...], temperature: float
             ) -> list[tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]]:
    """One padded forward pass; per item: entropy, log-prob (n_tokens,) and {layer: (n_tokens, d)}."""
    import torch

    device = lm.device
    width = max(len(it.input_ids) for it in items)
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    ids = torch.full((len(items), width), pad, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, it in enumerate(items):
        ids[row, :len(it.input_ids)] = torch.tensor(it.input_ids)
        mask[row, :len(it.input_ids)] = 1
    ids, mask = ids.to(device), mask.to(device)
    with torch.inference_mode(), capture_layers(lm.model, layer_ids) as captured:
        final = lm.model.get_decoder()(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
        _check_finite(captured)
        entropy, logprob = _batch_entropy(items, final, ids, lm, temperature)
        hidden = [{k: h[row, it.prompt_len:len(it.input_ids)].float().cpu().numpy() for k, h in captured.items()}
                  for row, it in enumerate(items)]
    return list(zip(entropy, logprob, hidden))


def _batch_entropy(items: list[_Encoded], final: Any, ids: Any, lm: Any, temperature: float
                   ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per item, entropy and log-prob of each trace token, from one streamed pass over all items' positions.

    Position ``prompt_len + i - 1`` predicts trace token i; with no prompt and no BOS nothing predicts token 0,
    whose values stay NaN.
    """
    import torch

    predictors, targets = [], []
    for row, it in enumerate(items):
        start = max(it.prompt_len, 1)
        predictors.append(final[row, start - 1:max(start, len(it.input_ids)) - 1])
        targets.append(ids[row, start:len(it.input_ids)])
    flat_entropy, flat_logprob = token_entropy(lm.model, torch.cat(predictors), torch.cat(targets), temperature)
    bounds = np.cumsum([len(t) for t in targets])[:-1]
    unpredicted = [np.full(1 if it.prompt_len == 0 else 0, np.nan, np.float32) for it in items]
    entropy = [np.concatenate(pair) for pair in zip(unpredicted, np.split(flat_entropy, bounds))]
    logprob = [np.concatenate(pair) for pair in zip(unpredicted, np.split(flat_logprob, bounds))]
    return entropy, logprob


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
        blocks = _decoder_blocks(self.model)
        n = len(blocks)
        for i in self.layer_ids:
            if i == 0:
                module = self.model.get_input_embeddings()
            elif i == n:
                module = _final_norm(self.model)
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


def _decoder_blocks(model: Any) -> Any:
    """The ModuleList of transformer blocks (``layers`` in Llama/Qwen/Mistral, ``h`` in GPT-2)."""
    import torch

    n = model.config.num_hidden_layers
    for module in model.get_decoder().children():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n:
            return module
    raise InputError(f"cannot find the {n} transformer blocks of {type(model).__name__} to hook")


def _final_norm(model: Any) -> Any:
    decoder = model.get_decoder()
    for name in ("norm", "ln_f", "final_layernorm", "final_layer_norm"):
        if hasattr(decoder, name):
            return getattr(decoder, name)
    raise InputError(f"cannot find the final norm of {type(model).__name__}; choose a layer below the last")


def _check_finite(captured: dict[int, Any]) -> None:
    import torch

    for index, h in captured.items():
        if not bool(torch.isfinite(h).all()):
            raise InputError(f"hidden states of layer {index} hold NaN or Inf in {h.dtype} (an fp16 overflow?); "
                             "load the model with dtype='bfloat16' or 'float32'")


def _make_trace(enc: _Encoded, entropy: np.ndarray, logprob: np.ndarray, hidden: dict[int, np.ndarray], lm: Any,
                layer_ids: tuple[int, ...], segment: str, temperature: float) -> Trace:
    tokens = [enc.text[a:b] for a, b in enc.offsets]
    meta = {"tokens_dropped": enc.dropped} if enc.dropped else {}
    return Trace(text=enc.text, prompt=enc.prompt, input_ids=np.asarray(enc.input_ids, dtype=np.int64),
                 prompt_len=enc.prompt_len, tokens=tokens, offsets=enc.offsets, entropy=entropy, logprob=logprob,
                 hidden=hidden, steps=segment_steps(enc.text, enc.offsets, segment), model_name=lm.name,
                 layers=layer_ids, segment=segment, temperature=float(temperature), meta=meta)

