"""Entropy and log-prob of next-token distributions, streamed over tiles of the vocabulary.

The LM head is a large share of a small model's work (a quarter of SmolLM2's FLOPs), and a full tokens x vocabulary
float32 matrix is the largest allocation of a naive pass (400 MB for 2048 tokens of a 49k vocabulary). Here the
logits exist one tile (rows x vocabulary columns) at a time, and each row's softmax statistics are merged across
column tiles as in online softmax: with s = z - m, e = exp(s), a row keeps its running max m, S = sum(e) and
D = sum(e * s); then H = log S - D / S and log p(target) = z_target - m - log S. (m + log S is the tile's
logsumexp and m + D / S its sum(p * z); keeping them shifted by m avoids the cancellation of H = lse - sum(p z)
for peaked rows.)

Column tiles small enough to stay in cache made the head plus the reduction 2x faster on CPU than row chunks of
64 MiB (1.3 s against 2.6 s for 2048 positions of SmolLM2's 49k vocabulary). The float32 reduction above is
within ~1e-7 (norm-relative) of float64 on its own, and within 2e-6 end to end on SmolLM2, where the trunk's
float32 rounding dominates; log_softmax followed by -sum(p log p) in float32 was 7x less accurate.

On CUDA each tile's update (head matmul, soft-cap, temperature, target pick, the statistics and their merge) is
one function that ``torch.compile`` fuses: the eager path writes a float32 copy of the tile and reads it back
about ten times, which costs about as much memory traffic as the head's matmul itself. Where compiling fails (no
Triton, no C compiler), the failure is logged once and the same function runs eagerly. On CPU the eager path stays
the default: the head is at the CPU's FLOP ceiling there.
"""
from __future__ import annotations

import logging
import weakref
from typing import Any

import numpy as np

from reasongraph.core.errors import InputError

log = logging.getLogger("reasongraph")

ROW_TILE = 4096  # rows (token positions) per tile
# float32 logits per tile on CPU: with its exp copy, the size of the dev machine's 32 MiB L3; 8 and 16 MiB tiles
# measured alike there, 32 MiB tiles and 64 MiB row chunks slower
CPU_TILE_BYTES = 16 << 20
ACCELERATOR_TILE_BYTES = 128 << 20  # GPU: fewer, larger tiles to amortize kernel launches (not yet measured)
COMPILE_BACKEND = "inductor"  # torch.compile backend of the fused tile update
FUSED_ON_CUDA = True  # the default of token_entropy's ``fused`` on CUDA; False runs the eager head there too
#: The model's own distribution, temperature 1 (the default of the temperature options: models/ is below the
#: layers that define them).
TEMPERATURE = 1.0
_checked_models: weakref.WeakSet = weakref.WeakSet()
_compiled: dict[Any, Any] = {}  # backend -> the compiled tile update, or None once compiling it failed


def token_entropy(model: Any, hidden: Any, targets: Any, temperature: float = TEMPERATURE,
                  tile_bytes: int | None = None, fused: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Entropy (nats) of ``softmax(logits / temperature)`` and the log-prob of ``targets``, one per row.

    ``hidden`` (rows x d) holds final hidden states (after the final norm), each the predictor of the matching
    token id in ``targets``; ``model`` is the causal LM whose output embeddings (the LM head) turn them into
    logits. ``fused``: run each tile's update through ``torch.compile`` (None: on CUDA, unless
    :data:`FUSED_ON_CUDA` is False). Returns two float32 arrays of length rows.
    """
    entropy, logprob = entropy_tensors(model, hidden, targets, temperature, tile_bytes=tile_bytes, fused=fused)
    return entropy.cpu().numpy(), logprob.cpu().numpy()


def entropy_tensors(model: Any, hidden: Any, targets: Any, temperature: float = TEMPERATURE, *,
                    tile_bytes: int | None = None, fused: bool | None = None) -> tuple[Any, Any]:
    """:func:`token_entropy` as float32 tensors left on ``hidden``'s device: no host synchronization, so a
    caller on CUDA can copy them out asynchronously."""
    import torch

    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    n, vocab = len(hidden), _head_weight(model).shape[0]
    if n == 0:
        empty = torch.empty(0, dtype=torch.float32, device=hidden.device)
        return empty, empty.clone()
    if tile_bytes is None:
        tile_bytes = CPU_TILE_BYTES if hidden.device.type == "cpu" else ACCELERATOR_TILE_BYTES
    fused = hidden.device.type == "cuda" and FUSED_ON_CUDA if fused is None else fused
    rows = min(n, ROW_TILE)
    cols = int(min(vocab, max(1, tile_bytes // (4 * rows))))
    blocks = [_row_block(model, hidden[a:a + rows], targets[a:a + rows], vocab, cols, temperature,
                         _fused_update() if fused else None)  # None again once compiling has failed
              for a in range(0, n, rows)]
    return torch.cat([b[0] for b in blocks]), torch.cat([b[1] for b in blocks])


def _row_block(model: Any, hidden: Any, targets: Any, vocab: int, cols: int, temperature: float, step: Any
               ) -> tuple[Any, Any]:
    """Entropy and target log-prob of a block of rows, merging softmax statistics over column tiles."""
    import torch

    head = model.get_output_embeddings()
    cap = getattr(model.config, "final_logit_softcapping", None) or None
    args = (hidden, head.weight, getattr(head, "bias", None), targets)
    state = None
    if step is not None:
        try:
            for j in range(0, vocab, cols):
                state = step(*args, j, min(j + cols, vocab), state, cap, temperature)
        except torch.OutOfMemoryError:
            raise
        except Exception as e:  # noqa: BLE001 - any compile failure: log it once, then the eager path
            _compile_failed(e)
            state = None
    if state is None:
        for j in range(0, vocab, cols):
            state = _tile_update(*args, j, min(j + cols, vocab), state, cap, temperature)
    m, total, e_dot_s, target_logit = state
    log_total = total.log()
    return log_total - e_dot_s / total, target_logit - m - log_total


def _tile_update(hidden: Any, weight: Any, bias: Any, targets: Any, start: int, stop: int, state: tuple | None,
                 cap: float | None, temperature: float) -> tuple:
    """Fold vocabulary columns [start, stop) into a row block's (m, S, D, target logit); the state is None before
    the first tile. Plain tensor code, so that torch.compile can fuse it into the head's matmul epilogue."""
    import torch

    s = _logits(hidden, weight[start:stop], None if bias is None else bias[start:stop], cap, temperature)
    # gather + where rather than boolean indexing: no host-device sync per tile on GPU
    picked = s.gather(1, (targets - start).clamp(0, stop - start - 1)[:, None])[:, 0]
    inside = (targets >= start) & (targets < stop)
    target_logit = torch.where(inside, picked, 0.0 if state is None else state[3])
    stats = _tile_stats(s)
    return (*(stats if state is None else _merge(state[:3], stats)), target_logit)


def tile_logits(model: Any, hidden: Any, start: int, stop: int, temperature: float = TEMPERATURE) -> Any:
    """float32 logits of vocabulary columns [start, stop), as the model computes them, divided by temperature.

    Gemma-style soft-capping (``config.final_logit_softcapping``) is applied; :func:`check_head` catches any
    other post-processing a model does to its logits. The head's weight is sliced and multiplied directly, so a
    head that needs its module call (offloaded or quantized weights) is not supported.
    """
    head = model.get_output_embeddings()
    bias = getattr(head, "bias", None)
    cap = getattr(model.config, "final_logit_softcapping", None) or None
    return _logits(hidden, head.weight[start:stop], None if bias is None else bias[start:stop], cap, temperature)


def _logits(hidden: Any, weight: Any, bias: Any, cap: float | None, temperature: float) -> Any:
    import torch.nn.functional as F

    z = F.linear(hidden, weight, bias).float()
    if cap:
        z.div_(cap).tanh_().mul_(cap)
    if temperature != 1.0:
        z.div_(temperature)
    return z


def _tile_stats(z: Any) -> tuple[Any, Any, Any]:
    """Per row of a logits tile: max m, S = sum(exp(z - m)), D = sum(exp(z - m) * (z - m)). Overwrites z."""
    import torch

    m = z.amax(dim=-1)
    s = z.sub_(m[:, None])
    e = torch.exp(s)
    total = e.sum(-1)
    return m, total, e.mul_(s).sum(-1)


def _merge(acc: tuple, new: tuple) -> tuple:
    """Combine the (m, S, D) of two column ranges: both are rescaled to the larger max M.

    sum over a range of exp(z - M) * (z - M) = exp(m - M) * (D + (m - M) * S); every term is <= 0, so nothing
    cancels.
    """
    import torch

    (m1, s1, d1), (m2, s2, d2) = acc, new
    m = torch.maximum(m1, m2)
    shift1, shift2 = m1 - m, m2 - m
    w1, w2 = shift1.exp(), shift2.exp()
    return m, w1 * s1 + w2 * s2, w1 * (d1 + shift1 * s1) + w2 * (d2 + shift2 * s2)


def _fused_update() -> Any:
    """The compiled :func:`_tile_update` for :data:`COMPILE_BACKEND`, or None where compiling failed before.

    torch.compile is lazy: a failure (no Triton, no C compiler) shows at the first call, in :func:`_row_block`.
    Shapes are dynamic from the start, so row blocks and the vocabulary's last, narrower tile share one graph.
    """
    import torch

    if COMPILE_BACKEND not in _compiled:
        log.info("compiling the entropy head with torch.compile: once per process, in its first calls")
        try:
            _compiled[COMPILE_BACKEND] = torch.compile(_tile_update, backend=COMPILE_BACKEND, dynamic=True)
        except Exception as e:  # noqa: BLE001 - torch.compile itself unsupported here (e.g. its Python version)
            _compile_failed(e)
    return _compiled[COMPILE_BACKEND]


def _compile_failed(exc: BaseException) -> None:
    """Remember that the fused head cannot be used with this backend, and say so once, with the root cause."""
    _compiled[COMPILE_BACKEND] = None
    cause = exc
    # torch wraps a backend's error: BackendCompilerFailed keeps it as inner_exception
    while (inner := getattr(cause, "inner_exception", None) or cause.__cause__) is not None:
        cause = inner
    first = (str(cause).strip().splitlines() or [""])[0][:300]
    log.warning("torch.compile of the entropy head failed (%s: %s); using the eager head, which is correct but "
                "slower on GPU", type(cause).__name__, first)


def check_head(lm: Any) -> None:
    """Make sure :func:`tile_logits` reproduces the model's own logits; once per model and process.

    Some architectures scale or cap logits after the LM head. Entropies computed without that would be silently
    wrong, so a short forward pass compares the two and raises if they differ.
    """
    import torch

    model = lm.model
    if model in _checked_models:
        return
    ids = torch.tensor([lm.tokenizer("The check.", add_special_tokens=False)["input_ids"]], device=lm.device)
    with torch.inference_mode():
        out = model(input_ids=ids, output_hidden_states=True, use_cache=False)
        expected = out.logits[0].float()
        ours = tile_logits(model, out.hidden_states[-1][0], 0, _head_weight(model).shape[0])
    scale = float(expected.abs().max()) or 1.0
    err = float((ours - expected).abs().max()) / scale
    # float32 weights agree to rounding; in 16-bit the model may round (or soft-cap) where we use float32
    tolerance = 1e-4 if _head_weight(model).dtype == torch.float32 else 2e-2
    if not err <= tolerance:
        raise InputError(f"{lm.name}: its logits are not the LM head applied to the last hidden state (relative "
                         f"difference {err:.2g}); the model post-processes them in a way reasongraph does not know")
    _checked_models.add(model)


def _head_weight(model: Any) -> Any:
    head = model.get_output_embeddings()
    if head is None or getattr(head, "weight", None) is None:
        raise InputError(f"{type(model).__name__} has no LM head (output embeddings) to compute token entropy")
    return head.weight


def entropy_at_temperatures(model: Any, hidden: Any, temperatures: Any, *, tile_bytes: int | None = None) -> Any:
    """Entropy (nats) of softmax(logits / t) for each of several temperatures t, from one pass over the head.

    ``hidden`` (rows x d) holds final hidden states (after the final norm). Each logits tile is computed once and
    folded into every temperature's softmax statistics (:func:`_tile_stats`, :func:`_merge`), so K temperatures
    cost one head matmul plus K cheap reductions rather than K head passes. Returns a float32 (rows x K) tensor on
    ``hidden``'s device.
    """
    import torch

    temps = [float(t) for t in temperatures]
    if not temps or min(temps) <= 0:
        raise ValueError(f"temperatures must be > 0, got {temps!r}")
    n, vocab = len(hidden), _head_weight(model).shape[0]
    if tile_bytes is None:
        tile_bytes = CPU_TILE_BYTES if hidden.device.type == "cpu" else ACCELERATOR_TILE_BYTES
    out = torch.empty((n, len(temps)), dtype=torch.float32, device=hidden.device)
    rows = max(1, min(n, ROW_TILE))
    cols = int(min(vocab, max(1, tile_bytes // (4 * rows))))
    for a in range(0, n, rows):
        states: list[tuple | None] = [None] * len(temps)
        for j in range(0, vocab, cols):
            z = tile_logits(model, hidden[a:a + rows], j, min(j + cols, vocab))
            scaled = torch.empty_like(z)  # one buffer per tile, overwritten by each temperature's statistics
            for k, t in enumerate(temps):
                stats = _tile_stats(torch.mul(z, 1.0 / t, out=scaled))
                states[k] = stats if states[k] is None else _merge(states[k], stats)
        for k, (_, total, e_dot_s) in enumerate(states):
            out[a:a + rows, k] = total.log() - e_dot_s / total
    return out
