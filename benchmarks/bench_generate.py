"""What sampling costs: one prompt per call against batches, plain transformers generate as the baseline, and
recording the hidden states for scoring (generate --score) against sampling alone.

    python benchmarks/bench_generate.py [--model smollm2-135m] [--problems 4] [--samples 8] [--batch-size 32]
                                        [--max-new-tokens 48] [--repeats 2] [--threads 1] [--device D] [--dtype T]
                                        [--prompt-format chat|raw]

``--model random:qwen2.5-7b`` samples from a random-initialized model of Qwen2.5-7B's shape (benchmarks/
bench_extract.py's; no model files, no chat template: use ``--prompt-format raw``), for a GPU
(benchmarks/gpu_check.sh).

Every method draws ``--samples`` samples of each of the fixture's first ``--problems`` MATH500 problems, in chat
format as examples/temperature_collapse.py does, at T = 1:

per prompt, bare : one plain transformers ``model.generate`` call per prompt with ``num_return_sequences`` (the
                   prompt is run in every row), no recording: what a script written straight on transformers does.
                   The baseline.
per prompt       : reasongraph's sampler (``reasongraph.trace.sampling.decode.sample_rows``) with one prompt's
                   samples per call: the prompt run once and its KV cache shared by its rows, every token's entropy
                   recorded.
batched          : the same over ``--batch-size`` rows taken across prompts (what ``generate --batch-size`` does).
batched, --score : the same calls also recording each token's log-prob and layer 0.9's hidden states (what
                   ``generate --score`` does before it writes the trace-cache entries).

"batched, --score" against "batched" is what recording for scoring costs while sampling; "batched" against the
baseline is what a user gains. The methods run alternately in one process, the order reversed every repeat. The
table gives median wall and CPU seconds (CPU is steadier on a shared machine; ``--threads 1`` makes it a count of
work), sampled tokens per wall second (each sample up to its EOS: what the user gets, not the padding a batch
computes after a row has ended) and, on CUDA, each method's peak device memory.
"""
from __future__ import annotations

import argparse
import statistics
import time
from contextlib import contextmanager

import numpy as np
import torch

import reasongraph as rg
from harness import FIXTURE, first_problems
from reasongraph.trace.extraction.encode import encode_prompt
from reasongraph.trace.extraction.layers import resolve_layers
from reasongraph.trace.sampling.decode import sample_rows
from reasongraph.trace.sampling.draw import stop_token_ids

INSTRUCTION = "Solve the problem. Think step by step, one step per line.\n\nProblem: "


def _sampled_tokens(new: np.ndarray, stop: list[int]) -> int:
    """Tokens before each row's first EOS."""
    hit = np.isin(new, stop)
    return int(np.where(hit.any(axis=1), hit.argmax(axis=1), new.shape[1]).sum())


@contextmanager
def plain_generate(lm, seed: int):
    """A generation config holding only the special tokens (no top_k=50, no penalties) and a seeded, forked RNG:
    transformers' generate sampling from softmax(z / T) as reasongraph does."""
    from transformers import GenerationConfig

    stop = stop_token_ids(lm)
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else (stop or [0])[0]
    saved = lm.model.generation_config
    lm.model.generation_config = GenerationConfig(eos_token_id=stop or None, pad_token_id=pad)
    try:
        with torch.random.fork_rng(devices=[lm.device] if lm.device.type != "cpu" else []), torch.inference_mode():
            torch.manual_seed(seed)
            yield {"eos_token_id": stop or None, "pad_token_id": pad, "do_sample": True, "top_k": 0}
    finally:
        lm.model.generation_config = saved


def per_prompt_bare(lm, prompts, texts, args) -> int:
    n = 0
    for ids in prompts:
        with plain_generate(lm, args.seed) as fixed:
            x = torch.tensor([ids], device=lm.device)
            seqs = lm.model.generate(x, attention_mask=torch.ones_like(x), temperature=1.0,
                                     max_new_tokens=args.max_new_tokens, num_return_sequences=args.samples, **fixed)
        n += _sampled_tokens(seqs[:, len(ids):].cpu().numpy(), fixed["eos_token_id"] or [])
    return n


def sampled(lm, prompts, texts, args, size: int, layers: tuple[int, ...] = ()) -> int:
    """The rows, each prompt ``samples`` times in order, cut into calls of ``size`` rows (as generate does)."""
    rows = [(ids, (text, k)) for ids, text in zip(prompts, texts) for k in range(args.samples)]
    n = 0
    for i in range(0, len(rows), size):
        call = rows[i:i + size]
        n += sum(len(s.token_ids) for s in sample_rows(lm, [r[0] for r in call], [r[1] for r in call], seed=args.seed,
                                                       max_new_tokens=args.max_new_tokens, layers=layers))
    return n


def _sync(lm) -> None:
    if lm.device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--device", default=None)
    ap.add_argument("--dtype", default=None)
    ap.add_argument("--problems", type=int, default=4)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--prompt-format", choices=("chat", "raw"), default="chat")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.model == "random:qwen2.5-7b":
        from bench_extract import random_qwen

        lm = random_qwen(torch.device(args.device or "cuda"), getattr(torch, args.dtype or "bfloat16"))
    else:
        lm = rg.load_model(args.model, device=args.device, dtype=args.dtype)
    problems = list(dict.fromkeys(r["problem"] for r in first_problems(FIXTURE, args.problems)))
    texts = [INSTRUCTION + p for p in problems]
    prompts = [encode_prompt(lm.tokenizer, t, args.prompt_format) for t in texts]
    layer = resolve_layers((0.9,), lm.num_layers)
    methods = {"per prompt, bare": lambda: per_prompt_bare(lm, prompts, texts, args),
               "per prompt": lambda: sampled(lm, prompts, texts, args, args.samples),
               "batched": lambda: sampled(lm, prompts, texts, args, args.batch_size),
               "batched, --score": lambda: sampled(lm, prompts, texts, args, args.batch_size, layer)}
    assert methods["batched"]() == methods["batched, --score"](), "recording changed what was sampled"  # warm-up
    cuda = lm.device.type == "cuda"
    times: dict[str, list[float]] = {name: [] for name in methods}
    cpu: dict[str, list[float]] = {name: [] for name in methods}
    peak: dict[str, float] = {}
    tokens: dict[str, int] = {}
    for r in range(args.repeats):
        for name in (list(methods) if r % 2 == 0 else list(methods)[::-1]):
            _sync(lm)
            if cuda:
                torch.cuda.reset_peak_memory_stats(lm.device)
            t0, c0 = time.perf_counter(), time.process_time()
            tokens[name] = methods[name]()
            _sync(lm)
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            if cuda:
                peak[name] = max(peak.get(name, 0.0), torch.cuda.max_memory_allocated(lm.device) / 2**20)

    print(f"{lm.name} on {lm.device} ({lm.dtype}), {len(prompts)} prompts ({min(map(len, prompts))}-"
          f"{max(map(len, prompts))} tokens) x {args.samples} samples, up to {args.max_new_tokens} new tokens, "
          f"batches of {args.batch_size}, {torch.get_num_threads()} threads, median of {args.repeats} repeats")
    print(f"{'method':<18}{'wall s':>9}{'tokens/s':>10}{'ratio':>8}{'cpu s':>9}{'ratio':>8}{'peak MiB':>10}")
    base, base_cpu = statistics.median(times["per prompt, bare"]), statistics.median(cpu["per prompt, bare"])
    for name in methods:
        wall, c = statistics.median(times[name]), statistics.median(cpu[name])
        mem = f"{peak[name]:>10.0f}" if cuda else f"{'n/a':>10}"
        print(f"{name:<18}{wall:>9.2f}{tokens[name] / wall:>10.1f}{base / wall:>7.2f}x{c:>9.2f}"
              f"{base_cpu / c:>7.2f}x{mem}")
    overhead = statistics.median(times["batched, --score"]) / statistics.median(times["batched"]) - 1
    print(f"ratio: the baseline's time over the method's (higher is faster). Recording for scoring (batched, "
          f"--score against batched, wall): {100 * overhead:+.1f}%"
          + (f", peak memory {peak['batched, --score'] - peak['batched']:+.0f} MiB" if cuda else ""))


if __name__ == "__main__":
    main()
