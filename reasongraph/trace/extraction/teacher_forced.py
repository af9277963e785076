"""Teacher-forced extraction: one forward pass over prompt + trace gives token entropies, log-probs, the chosen
layers' hidden states and the steps, as a :class:`~reasongraph.trace.trace.Trace`.

Memory is kept lean on purpose: forward hooks capture only the requested layers (``output_hidden_states`` would
keep every layer), and entropy comes from the final hidden states through the LM head one vocabulary tile at a
time (:mod:`reasongraph.models.head_entropy`), so no full tokens x vocabulary float32 matrix is ever allocated.

Batching: traces are sorted by token count and cut into forward passes of at most ``batch_tokens`` padded
tokens, trading the padding a pass carries against the cost of one more pass (:func:`length_batches`). On CUDA the
captured layers stay in the model's dtype (bf16) on the device and travel to pinned host memory by non-blocking
copies on a side stream while the entropy head runs; the next batch's forward pass is queued before the host turns
the last batch into Traces. On CPU every step runs in order, as it always has.
"""
from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any, Callable, Iterator, Sequence

from reasongraph.core.checks import check_optional_int
from reasongraph.core.errors import InputError
from reasongraph.models.head_entropy import check_head
from reasongraph.models.loaded import LoadedModel
from reasongraph.models.sources import load_model
from reasongraph.trace.extraction.batching import default_batch_tokens, length_batches, pass_cost_tokens
from reasongraph.trace.extraction.encode import Encoded, encode
from reasongraph.trace.extraction.forward import launch_forward, make_trace
from reasongraph.trace.extraction.layers import resolve_layers
from reasongraph.trace.extraction.prefix_sharing import PrefixCache, shared_prompt_groups
from reasongraph.trace.options import ExtractOptions, check_extract_options
from reasongraph.trace.trace import Trace

if TYPE_CHECKING:
    from reasongraph.trace.extraction.layers import LayerSpec
    from reasongraph.trace.extraction.forward import Outputs


_default_model = None


def extract(text: str, prompt: str | None = None, model: Any = None,
            layers: Sequence[LayerSpec] = ExtractOptions.layers, segment: str = ExtractOptions.segment,
            temperature: float = ExtractOptions.temperature, prompt_format: str = ExtractOptions.prompt_format,
            truncate: bool = ExtractOptions.truncate) -> Trace:
    """Run the model over one trace, teacher-forced, and return what it saw.

    Parameters
    ----------
    text : the reasoning trace (what the model is scored on). With a prompt it may be empty or blank (a response
        that ended at once): a trace of no steps.
    prompt : what the trace answers; its tokens come first and are not part of the trace.
    model : a :class:`~reasongraph.models.loaded.LoadedModel` or a spec for
        :func:`~reasongraph.models.sources.load_model`;
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
                  batch_size: int | None = None, layers: Sequence[LayerSpec] = ExtractOptions.layers,
                  segment: str = ExtractOptions.segment, temperature: float = ExtractOptions.temperature,
                  prompt_format: str = ExtractOptions.prompt_format, truncate: bool = ExtractOptions.truncate,
                  batch_tokens: int | None = None, share_prefix: bool = True,
                  on_pass: Callable[[list[int], list[int]], None] | None = None) -> list[Trace]:
    """:func:`extract` for many traces: padded, masked batches, results equal to one-at-a-time extraction.

    Traces are sorted by token count and grouped into forward passes of at most ``batch_tokens`` padded tokens
    (rows x longest row; a trace longer than that runs alone) and at most ``batch_size`` traces (None: no limit
    on the count), trading padding against the number of passes (:func:`length_batches`). ``batch_tokens``
    None: :data:`BATCH_TOKEN_BUDGET` on CPU, :data:`CUDA_BATCH_TOKEN_BUDGET` on CUDA. Batched results equal
    one-at-a-time results up to float rounding (padded passes multiply matrices of another shape, so the last bits
    differ). ``share_prefix``: traces that answer the same prompt run it once
    (:mod:`reasongraph.trace.extraction.prefix_sharing`); their passes read only the trace after the prompt's cached
    keys and values (equal up to float rounding). ``on_pass(indices, tokens)``: called as each forward pass's
    traces are built, with their indices and token counts, so a caller can show progress inside one call.
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
            results[i] = make_trace(encoded[i], entropy, logprob, hidden, lm, layer_ids, segment, temperature)
        if on_pass is not None:
            on_pass(batch, [len(encoded[i].input_ids) for i in batch])

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


def _passes(encoded: list[Encoded], lm: Any, layer_ids: tuple[int, ...], temperature: float, batching: dict,
            share_prefix: bool) -> Iterator[tuple[list[int], Callable[[], Callable[[], Outputs]]]]:
    """(item indices, the function that launches their forward pass) of every pass: the items of a prompt that
    several items share (:func:`~reasongraph.trace.extraction.prefix_sharing.shared_prompt_groups`) in passes of their
    own that start after the prompt's cached prefix, the others in length batches (:func:`length_batches`)."""
    groups = shared_prompt_groups([e.input_ids[:e.prompt_len] for e in encoded]) if share_prefix else []
    grouped = {i for g in groups for i in g}
    plain = [i for i in range(len(encoded)) if i not in grouped]
    for batch in length_batches([len(encoded[i].input_ids) for i in plain], **batching):
        items = [encoded[plain[j]] for j in batch]
        yield [plain[j] for j in batch], lambda items=items: launch_forward(items, lm, layer_ids, temperature)
    for group in groups:
        first = encoded[group[0]]
        prefix: list[PrefixCache] = []  # computed when the group's first pass launches, freed with the group
        views = [_continuation(encoded[i]) for i in group]
        for batch in length_batches([len(v.input_ids) for v in views], **batching):
            def launch(items=[views[j] for j in batch]) -> Callable[[], Outputs]:
                if not prefix:
                    prefix.append(PrefixCache(lm, first.input_ids[:first.prompt_len - 1]))
                return launch_forward(items, lm, layer_ids, temperature, prefix=prefix[0])
            yield [group[j] for j in batch], launch


def _continuation(enc: Encoded) -> Encoded:
    """The part of ``enc`` a pass after its cached prompt prefix reads: the prompt's last token, then the trace."""
    return Encoded(enc.input_ids[enc.prompt_len - 1:], 1, enc.offsets, enc.text, enc.prompt, enc.dropped)


def resolve_model(model: Any) -> Any:
    """A LoadedModel from a LoadedModel, a spec string, or None (the default model, loaded once)."""
    global _default_model

    if isinstance(model, LoadedModel):
        return model
    if model is None:
        if _default_model is None:
            _default_model = load_model()
        return _default_model
    return load_model(model)
