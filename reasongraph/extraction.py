"""Teacher-forced extraction: one forward pass over prompt + trace gives token entropies, log-probs, the chosen
layers' hidden states and the steps, as a :class:`~reasongraph.trace.Trace`.

Memory is kept lean on purpose: forward hooks capture only the requested layers (``output_hidden_states`` would
keep every layer), and entropy comes from the final hidden states through the LM head one vocabulary tile at a
time (:mod:`reasongraph.vocab_entropy`), so no full tokens x vocabulary float32 matrix is ever allocated.

Batching: traces are sorted by token count and cut into forward passes of at most ``batch_tokens`` padded
tokens, trading the padding a pass carries against the cost of one more pass (:func:`length_batches`). On CUDA the
captured layers stay in the model's dtype (bf16) on the device and travel to pinned host memory by non-blocking
copies on a side stream while the entropy head runs; the next batch's forward pass is queued before the host turns
the last batch into Traces. On CPU every step runs in order, as it always has.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from reasongraph.errors import InputError, opt
from reasongraph.segment import segment_steps, validate_segmenter
from reasongraph.trace import Trace
from reasongraph.validate import check_choice, check_number, check_optional_int
from reasongraph.vocab_entropy import check_head, entropy_tensors

LayerSpec = int | float
BATCH_TOKEN_BUDGET = 4096  # padded tokens per forward pass on CPU, unless batch_tokens says otherwise
# on CUDA: a 7B model's activations at 16k tokens are a few GiB, and larger passes keep its matrix units busy
CUDA_BATCH_TOKEN_BUDGET = 16384
# What one forward pass costs beyond its tokens, in tokens (see length_batches). On CPU batching buys no speed
# (SmolLM2, one thread, tokens/s in one run: 8x256 at 0.94x 1x256, 4x1024 at 0.89x 1x1024), so padding is the
# cost: only near-equal lengths share a pass. On CUDA a pass has launch and fill costs: a guess until measured
# (from bare tokens/s at 1 x 512 and 1 x 8192 in benchmarks/gpu_check.sh: 512 x (rate_8192 / rate_512 - 1)).
CPU_PASS_TOKENS = 64
CUDA_PASS_TOKENS = 1024
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
    text : the reasoning trace (what the model is scored on). With a prompt it may be empty or blank (a response
        that ended at once): a trace of no steps.
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
                  temperature: float = 1.0, prompt_format: str = "raw", truncate: bool = False,
                  batch_tokens: int | None = None, share_prefix: bool = True) -> list[Trace]:
    """:func:`extract` for many traces: padded, masked batches, results equal to one-at-a-time extraction.

    Traces are sorted by token count and grouped into forward passes of at most ``batch_tokens`` padded tokens
    (rows x longest row; a trace longer than that runs alone) and at most ``batch_size`` traces (None: no limit
    on the count), trading padding against the number of passes (:func:`length_batches`). ``batch_tokens``
    None: :data:`BATCH_TOKEN_BUDGET` on CPU, :data:`CUDA_BATCH_TOKEN_BUDGET` on CUDA. Batched results equal
    one-at-a-time results up to float rounding (padded passes multiply matrices of another shape, so the last bits
    differ). ``share_prefix``: traces that answer the same prompt run it once (:mod:`reasongraph.prefix_sharing`);
    their passes read only the trace after the prompt's cached keys and values (equal up to float rounding).
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
    check_optional_int("batch_tokens", batch_tokens, low=1)
    lm = resolve_model(model)
    layer_ids = resolve_layers(layers, lm.num_layers)
    check_head(lm)
    encoded = [encode(lm, t, p, prompt_format, truncate, index=i) for i, (t, p) in enumerate(zip(texts, prompts))]
    batching = {"batch_size": batch_size, "batch_tokens": batch_tokens or default_batch_tokens(lm.device),
                "pass_tokens": pass_cost_tokens(lm.device)}
    results: list[Trace | None] = [None] * len(encoded)

    def collect(batch: list[int], outputs: Callable[[], Outputs]) -> None:
        for i, (entropy, logprob, hidden) in zip(batch, outputs()):
            results[i] = _make_trace(encoded[i], entropy, logprob, hidden, lm, layer_ids, segment, temperature)

    # Each batch is launched before the one before it is collected: on CUDA its forward pass runs while the host
    # builds the Traces of the last; on CPU launching does all the work, and the order changes nothing.
    pending = None
    for batch, launch in _passes(encoded, lm, layer_ids, temperature, batching, share_prefix):
        launched = (batch, launch())
        if pending is not None:
            collect(*pending)
        pending = launched
    if pending is not None:
        collect(*pending)
    return results  # type: ignore[return-value]


def _passes(encoded: list[_Encoded], lm: Any, layer_ids: tuple[int, ...], temperature: float, batching: dict,
            share_prefix: bool) -> Iterator[tuple[list[int], Callable[[], Callable[[], Outputs]]]]:
    """(item indices, the function that launches their forward pass) of every pass: the items of a prompt that
    several items share (:func:`~reasongraph.prefix_sharing.shared_prompt_groups`) in passes of their own that
    start after the prompt's cached prefix, the others in length batches (:func:`length_batches`)."""
    from reasongraph.prefix_sharing import PrefixCache, shared_prompt_groups

    groups = shared_prompt_groups([e.input_ids[:e.prompt_len] for e in encoded]) if share_prefix else []
    grouped = {i for g in groups for i in g}
    plain = [i for i in range(len(encoded)) if i not in grouped]
    for batch in length_batches([len(encoded[i].input_ids) for i in plain], **batching):
        items = [encoded[plain[j]] for j in batch]
        yield [plain[j] for j in batch], lambda items=items: _launch(items, lm, layer_ids, temperature)
    for group in groups:
        first = encoded[group[0]]
        prefix: list[PrefixCache] = []  # computed when the group's first pass launches, freed with the group
        views = [_continuation(encoded[i]) for i in group]
        for batch in length_batches([len(v.input_ids) for v in views], **batching):
            def launch(items=[views[j] for j in batch]) -> Callable[[], Outputs]:
                if not prefix:
                    prefix.append(PrefixCache(lm, first.input_ids[:first.prompt_len - 1]))
                return _launch(items, lm, layer_ids, temperature, prefix=prefix[0])
            yield [group[j] for j in batch], launch


def _continuation(enc: _Encoded) -> _Encoded:
    """The part of ``enc`` a pass after its cached prompt prefix reads: the prompt's last token, then the trace."""
    return _Encoded(enc.input_ids[enc.prompt_len - 1:], 1, enc.offsets, enc.text, enc.prompt, enc.dropped)


def default_batch_tokens(device: Any) -> int:
    """Padded tokens per forward pass when ``batch_tokens`` is None: larger on CUDA than on CPU."""
    return CUDA_BATCH_TOKEN_BUDGET if _device_type(device) == "cuda" else BATCH_TOKEN_BUDGET


def pass_cost_tokens(device: Any) -> int:
    """What one more forward pass costs, in padded tokens of work, for :func:`length_batches` on ``device``."""
    return CUDA_PASS_TOKENS if _device_type(device) == "cuda" else CPU_PASS_TOKENS


def _device_type(device: Any) -> str:
    return getattr(device, "type", str(device).split(":")[0])


def length_batches(lengths: Sequence[int], *, batch_tokens: int, batch_size: int | None = None,
                   pass_tokens: int = 0) -> list[list[int]]:
    """Group indices into forward passes: sorted by length (ties in input order), then cut into consecutive
    batches of at most ``batch_tokens`` padded tokens (rows x longest) and ``batch_size`` rows, choosing the cuts
    that minimize the padded tokens plus ``pass_tokens`` per pass.

    ``pass_tokens`` is what a pass costs beyond its tokens: 0 batches equal lengths only (no padding); a large
    value packs the fewest passes. A length above ``batch_tokens`` gets a batch of its own. Consecutive
    cuts of the sorted order are where the least padding lies (any batch can swap rows with a neighbour to become
    consecutive without growing), so a dynamic program over them finds the best grouping exactly, in
    O(n x rows per batch). It depends on the lengths alone, so the same inputs always batch alike.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    sorted_lengths = [lengths[i] for i in order]
    n = len(order)
    cost = [0] + [None] * n  # cost[j]: the least cost of the first j sorted lengths; start[j]: its last batch's
    start = [0] * (n + 1)
    for j in range(1, n + 1):
        width = sorted_lengths[j - 1]  # the longest row of any batch ending at j
        for i in range(j - 1, -1, -1):
            rows = j - i
            if rows > 1 and (rows * width > batch_tokens or (batch_size is not None and rows > batch_size)):
                break
            total = cost[i] + rows * width + pass_tokens
            if cost[j] is None or total <= cost[j]:  # on a tie, the larger batch: fewer passes
                cost[j], start[j] = total, i
    batches = []
    while n:
        batches.append(order[start[n]:n])
        n = start[n]
    return batches[::-1]


def padding_share(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> float:
    """Padding tokens over all tokens the forward passes of ``batches`` process (0 for no batches)."""
    real = sum(lengths[i] for b in batches for i in b)
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches if b)
    return 1.0 - real / padded if padded else 0.0


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
        raise InputError(f"{where} is empty or whitespace-only, with no prompt; there is nothing to analyze")
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


Outputs = list[tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]]


def _launch(items: list[_Encoded], lm: Any, layer_ids: tuple[int, ...], temperature: float, prefix: Any = None
            ) -> Callable[[], Outputs]:
    """Start one padded forward pass; the returned function gives, per item, entropy and log-prob (n_tokens,)
    and {layer: (n_tokens, d) float32}. With ``prefix`` (a :class:`~reasongraph.prefix_sharing.PrefixCache`),
    the items are continuations of that prefix, read against its cached keys and values.

    On CUDA the function waits for the copies to host memory; elsewhere the work is done before it returns.
    """
    import torch

    cuda = lm.device.type == "cuda"
    ids, mask = _padded_inputs(items, lm, pinned=cuda)
    decoder = lm.model.get_decoder()
    kw = prefix.forward_kwargs(decoder, mask) if prefix is not None else {"attention_mask": mask, "use_cache": False}
    with torch.inference_mode(), capture_layers(lm.model, layer_ids) as captured:
        final = decoder(input_ids=ids, **kw).last_hidden_state
        if cuda:
            return _copy_out(items, captured, final, ids, lm, temperature)
        _check_finite(captured)
        flat_entropy, flat_logprob = _flat_entropy(items, final, ids, lm, temperature)
        entropy, logprob = _split_entropy(items, flat_entropy.cpu().numpy(), flat_logprob.cpu().numpy())
        hidden = [{k: h[row, it.prompt_len:len(it.input_ids)].float().cpu().numpy() for k, h in captured.items()}
                  for row, it in enumerate(items)]
    outputs = list(zip(entropy, logprob, hidden))
    return lambda: outputs


def _padded_inputs(items: list[_Encoded], lm: Any, pinned: bool) -> tuple[Any, Any]:
    """Right-padded input ids and attention mask on the model's device (via pinned memory on CUDA)."""
    import torch

    width = max(len(it.input_ids) for it in items)
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    ids = torch.full((len(items), width), pad, dtype=torch.long, pin_memory=pinned)
    mask = torch.zeros((len(items), width), dtype=torch.long, pin_memory=pinned)
    for row, it in enumerate(items):
        ids[row, :len(it.input_ids)] = torch.tensor(it.input_ids)
        mask[row, :len(it.input_ids)] = 1
    return ids.to(lm.device, non_blocking=pinned), mask.to(lm.device, non_blocking=pinned)


def _copy_out(items: list[_Encoded], captured: dict[int, Any], final: Any, ids: Any, lm: Any, temperature: float
              ) -> Callable[[], Outputs]:
    """CUDA: queue the copies of each item's captured rows (in the model's dtype) to pinned host memory on a side
    stream, and the entropy head on the main stream meanwhile; return the function that waits and converts.

    Nothing here synchronizes with the device: the finiteness check of the layers is a device flag read after the
    copies, and the copy stream holds its sources (``record_stream``) until it is done with them.
    """
    import torch

    spans = [(it.prompt_len, len(it.input_ids)) for it in items]
    rows = sum(b - a for a, b in spans)
    main = torch.cuda.current_stream(lm.device)
    side = _copy_stream(lm.device)
    side.wait_stream(main)  # the forward pass has written the captured layers
    host_hidden = {}
    with torch.cuda.stream(side):
        for k, h in captured.items():
            buf = torch.empty((rows, h.shape[-1]), dtype=h.dtype, pin_memory=True)
            offset = 0
            for row, (a, b) in enumerate(spans):
                buf[offset:offset + b - a].copy_(h[row, a:b], non_blocking=True)
                offset += b - a
            h.record_stream(side)
            host_hidden[k] = buf
    copied = side.record_event()
    dtypes = {k: h.dtype for k, h in captured.items()}  # the closure must not keep device tensors alive
    flat = [*_flat_entropy(items, final, ids, lm, temperature)]
    if captured:
        flat.append(torch.stack([torch.isfinite(h).all() for h in captured.values()]))
    host_flat = [torch.empty(t.shape, dtype=t.dtype, pin_memory=True).copy_(t, non_blocking=True) for t in flat]
    computed = main.record_event()

    def collect() -> Outputs:
        copied.synchronize()
        computed.synchronize()
        if dtypes:
            for (index, dtype), ok in zip(dtypes.items(), host_flat[2].tolist()):
                if not ok:
                    raise _non_finite(index, dtype)
        entropy, logprob = _split_entropy(items, host_flat[0].numpy(), host_flat[1].numpy())
        bounds = np.cumsum([0] + [b - a for a, b in spans])
        hidden = [{k: buf[bounds[j]:bounds[j + 1]].to(torch.float32, copy=True).numpy()
                   for k, buf in host_hidden.items()} for j in range(len(items))]
        return list(zip(entropy, logprob, hidden))

    return collect


_copy_streams: dict[Any, Any] = {}


def _copy_stream(device: Any) -> Any:
    """One side stream per CUDA device for device-to-host copies, made on first use."""
    import torch

    key = torch.device(device).index if torch.device(device).index is not None else torch.cuda.current_device()
    if key not in _copy_streams:
        _copy_streams[key] = torch.cuda.Stream(device=torch.device("cuda", key))
    return _copy_streams[key]


def _flat_entropy(items: list[_Encoded], final: Any, ids: Any, lm: Any, temperature: float) -> tuple[Any, Any]:
    """Entropy and log-prob of every predicted trace token of all items, one streamed head pass, on the device.

    Position ``prompt_len + i - 1`` predicts trace token i; with no prompt and no BOS nothing predicts token 0.
    """
    import torch

    predictors, targets = [], []
    for row, it in enumerate(items):
        start = max(it.prompt_len, 1)
        predictors.append(final[row, start - 1:max(start, len(it.input_ids)) - 1])
        targets.append(ids[row, start:len(it.input_ids)])
    return entropy_tensors(lm.model, torch.cat(predictors), torch.cat(targets), temperature)


def _split_entropy(items: list[_Encoded], flat_entropy: np.ndarray, flat_logprob: np.ndarray
                   ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per item entropy and log-prob from the flat arrays; token 0 is NaN where nothing predicts it."""
    unpredicted = [np.full(1 if it.prompt_len == 0 else 0, np.nan, np.float32) for it in items]
    sizes = [len(it.input_ids) - max(it.prompt_len, 1) for it in items]
    bounds = np.cumsum(sizes)[:-1]
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
            raise _non_finite(index, h.dtype)


def _non_finite(index: int, dtype: Any) -> InputError:
    return InputError(f"hidden states of layer {index} hold NaN or Inf in {dtype} (an fp16 overflow?); load the "
                      "model with dtype='bfloat16' or 'float32'")


def _make_trace(enc: _Encoded, entropy: np.ndarray, logprob: np.ndarray, hidden: dict[int, np.ndarray], lm: Any,
                layer_ids: tuple[int, ...], segment: str, temperature: float) -> Trace:
    tokens = [enc.text[a:b] for a, b in enc.offsets]
    meta = {"tokens_dropped": enc.dropped} if enc.dropped else {}
    return Trace(text=enc.text, prompt=enc.prompt, input_ids=np.asarray(enc.input_ids, dtype=np.int64),
                 prompt_len=enc.prompt_len, tokens=tokens, offsets=enc.offsets, entropy=entropy, logprob=logprob,
                 hidden=hidden, steps=segment_steps(enc.text, enc.offsets, segment), model_name=lm.name,
                 layers=layer_ids, segment=segment, temperature=float(temperature), meta=meta)

