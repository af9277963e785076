"""Forward passes of several traces: length-sorted batches under a token budget, and what padding costs."""
from __future__ import annotations

from typing import Any, Sequence


BATCH_TOKEN_BUDGET = 4096  # padded tokens per forward pass on CPU, unless batch_tokens says otherwise
# on CUDA: a 7B model's activations at 16k tokens are a few GiB, and larger passes keep its matrix units busy
CUDA_BATCH_TOKEN_BUDGET = 16384
# What one forward pass costs beyond its tokens, in tokens (see length_batches). On CPU batching buys no speed
# (SmolLM2, one thread, tokens/s in one run: 8x256 at 0.94x 1x256, 4x1024 at 0.89x 1x1024), so padding is the
# cost: only near-equal lengths share a pass. On CUDA a pass has launch and fill costs: a guess until measured
# (from bare tokens/s at 1 x 512 and 1 x 8192 in benchmarks/gpu_check.sh: 512 x (rate_8192 / rate_512 - 1)).
CPU_PASS_TOKENS = 64
CUDA_PASS_TOKENS = 1024


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
