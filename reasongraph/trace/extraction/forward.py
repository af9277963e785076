"""One padded forward pass: its launch, and copying entropies, log-probs and hidden states out of it into Traces."""
from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any, Callable

import numpy as np

from reasongraph.core.errors import InputError
from reasongraph.models.head_entropy import entropy_tensors
from reasongraph.models.hooks import capture_layers
from reasongraph.trace.steps import segment_steps
from reasongraph.trace.trace import Trace

if TYPE_CHECKING:
    from reasongraph.trace.extraction.encode import Encoded


Outputs = list[tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]]


def launch_forward(items: list[Encoded], lm: Any, layer_ids: tuple[int, ...], temperature: float, prefix: Any = None
            ) -> Callable[[], Outputs]:
    """Start one padded forward pass; the returned function gives, per item, entropy and log-prob (n_tokens,)
    and {layer: (n_tokens, d) float32}. With ``prefix`` (a
    :class:`~reasongraph.trace.extraction.prefix_sharing.PrefixCache`), the items are continuations of that prefix,
    read against its cached keys and values.

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


def _padded_inputs(items: list[Encoded], lm: Any, pinned: bool) -> tuple[Any, Any]:
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


def _copy_out(items: list[Encoded], captured: dict[int, Any], final: Any, ids: Any, lm: Any, temperature: float
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


def _flat_entropy(items: list[Encoded], final: Any, ids: Any, lm: Any, temperature: float) -> tuple[Any, Any]:
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


def _split_entropy(items: list[Encoded], flat_entropy: np.ndarray, flat_logprob: np.ndarray
                   ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per item entropy and log-prob from the flat arrays; token 0 is NaN where nothing predicts it."""
    unpredicted = [np.full(1 if it.prompt_len == 0 else 0, np.nan, np.float32) for it in items]
    sizes = [len(it.input_ids) - max(it.prompt_len, 1) for it in items]
    bounds = np.cumsum(sizes)[:-1]
    entropy = [np.concatenate(pair) for pair in zip(unpredicted, np.split(flat_entropy, bounds))]
    logprob = [np.concatenate(pair) for pair in zip(unpredicted, np.split(flat_logprob, bounds))]
    return entropy, logprob


def _check_finite(captured: dict[int, Any]) -> None:
    import torch

    for index, h in captured.items():
        if not bool(torch.isfinite(h).all()):
            raise _non_finite(index, h.dtype)


def _non_finite(index: int, dtype: Any) -> InputError:
    return InputError(f"hidden states of layer {index} hold NaN or Inf in {dtype} (an fp16 overflow?); load the "
                      "model with dtype='bfloat16' or 'float32'")


def make_trace(enc: Encoded, entropy: np.ndarray, logprob: np.ndarray, hidden: dict[int, np.ndarray], lm: Any,
                layer_ids: tuple[int, ...], segment: str, temperature: float) -> Trace:
    tokens = [enc.text[a:b] for a, b in enc.offsets]
    meta = {"tokens_dropped": enc.dropped} if enc.dropped else {}
    return Trace(text=enc.text, prompt=enc.prompt, input_ids=np.asarray(enc.input_ids, dtype=np.int64),
                 prompt_len=enc.prompt_len, tokens=tokens, offsets=enc.offsets, entropy=entropy, logprob=logprob,
                 hidden=hidden, steps=segment_steps(enc.text, enc.offsets, segment), model_name=lm.name,
                 layers=layer_ids, segment=segment, temperature=float(temperature), meta=meta)
