"""What sampling costs: the entropy recording against bare generation, and one prompt per call against batches.

    python benchmarks/bench_generate.py [--model smollm2-135m] [--problems 4] [--samples 8] [--batch-size 32]
                                        [--max-new-tokens 48] [--repeats 2] [--threads 1]

Every method draws ``--samples`` samples of each of the fixture's first ``--problems`` MATH500 problems, in chat
format as examples/temperature_collapse.py does, at T = 1:

per prompt, bare : one plain ``model.generate`` call per prompt with ``num_return_sequences`` (the prompt is run
                   in every row), no recording: what a script written straight on transformers does. The baseline.
per prompt       : reasongraph's generate with ``batch_size = samples``: one call per prompt, the prompt run once
                   and its KV cache shared by its rows, every token's entropy recorded.
batched, bare    : ``generate_rows`` over ``--batch-size`` rows taken across prompts, no recording.
batched          : reasongraph's generate with ``--batch-size``: the same calls with the entropy recorded.

"batched" against "batched, bare" is the recording's cost (target: at most 10%); "batched" against the baseline is
what a user gains. The methods run alternately in one process, the order reversed every repeat. The table gives
median wall and CPU seconds (CPU is steadier on a shared machine; ``--threads 1`` makes it a count of work) and
sampled tokens per wall second (each sample up to its EOS: what the user gets, not the padding a batch computes
after a row has ended).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import reasongraph as rg
from harness import FIXTURE, first_problems
from reasongraph.extraction import _prompt_ids
from reasongraph.generate import generate_rows, plain_sampling, sample_batch

INSTRUCTION = "Solve the problem. Think step by step, one step per line.\n\nProblem: "


def _sampled_tokens(new: np.ndarray, stop: list[int]) -> int:
    """Tokens before each row's first EOS."""
    hit = np.isin(new, stop)
    return int(np.where(hit.any(axis=1), hit.argmax(axis=1), new.shape[1]).sum())


def per_prompt_bare(lm, prompts, args) -> int:
    n = 0
    for ids in prompts:
        with plain_sampling(lm, args.seed) as fixed:
            x = torch.tensor([ids], device=lm.device)
            seqs = lm.model.generate(x, attention_mask=torch.ones_like(x), temperature=1.0,
                                     max_new_tokens=args.max_new_tokens, num_return_sequences=args.samples, **fixed)
        n += _sampled_tokens(seqs[:, len(ids):].cpu().numpy(), fixed["eos_token_id"] or [])
    return n


def _calls(prompts, args, size: int) -> list[list]:
    """The rows, each prompt ``samples`` times in order, cut into calls of ``size`` rows (as generate does)."""
    rows = [ids for ids in prompts for _ in range(args.samples)]
    return [rows[i:i + size] for i in range(0, len(rows), size)]


def recorded(lm, prompts, args, size: int) -> int:
    return sum(len(s.token_ids) for call in _calls(prompts, args, size)
               for s in sample_batch(lm, call, seed=args.seed, max_new_tokens=args.max_new_tokens))


def batched_bare(lm, prompts, args) -> int:
    return sum(_sampled_tokens(*generate_rows(lm, call, seed=args.seed, temperature=1.0, top_p=1.0,
                                              max_new_tokens=args.max_new_tokens))
               for call in _calls(prompts, args, args.batch_size))


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
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    lm = rg.load_model(args.model, device=args.device, dtype=args.dtype)
    problems = list(dict.fromkeys(r["problem"] for r in first_problems(FIXTURE, args.problems)))
    prompts = [_prompt_ids(lm.tokenizer, INSTRUCTION + p, "chat") for p in problems]
    methods = {"per prompt, bare": lambda: per_prompt_bare(lm, prompts, args),
               "per prompt": lambda: recorded(lm, prompts, args, args.samples),
               "batched, bare": lambda: batched_bare(lm, prompts, args),
               "batched": lambda: recorded(lm, prompts, args, args.batch_size)}
    assert methods["batched"]() == methods["batched, bare"](), "the recorder changed what was sampled"  # warm-up
    times: dict[str, list[float]] = {name: [] for name in methods}
    cpu: dict[str, list[float]] = {name: [] for name in methods}
    tokens: dict[str, int] = {}
    for r in range(args.repeats):
        for name in (list(methods) if r % 2 == 0 else list(methods)[::-1]):
            _sync(lm)
            t0, c0 = time.perf_counter(), time.process_time()
            tokens[name] = methods[name]()
            _sync(lm)
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)

    print(f"{lm.name} on {lm.device} ({lm.dtype}), {len(prompts)} prompts ({min(map(len, prompts))}-"
          f"{max(map(len, prompts))} tokens) x {args.samples} samples, up to {args.max_new_tokens} new tokens, "
          f"batches of {args.batch_size}, {torch.get_num_threads()} threads, median of {args.repeats} repeats")
    print(f"{'method':<18}{'wall s':>9}{'tokens/s':>10}{'ratio':>8}{'cpu s':>9}{'ratio':>8}")
    base, base_cpu = statistics.median(times["per prompt, bare"]), statistics.median(cpu["per prompt, bare"])
    for name in methods:
        wall, c = statistics.median(times[name]), statistics.median(cpu[name])
        print(f"{name:<18}{wall:>9.2f}{tokens[name] / wall:>10.1f}{base / wall:>7.2f}x{c:>9.2f}{base_cpu / c:>7.2f}x")
    overhead = statistics.median(times["batched"]) / statistics.median(times["batched, bare"]) - 1
    print(f"ratio: the baseline's time over the method's (higher is faster). Recording overhead (batched against "
          f"batched, bare, wall): {100 * overhead:+.1f}% (target <= 10%)")


if __name__ == "__main__":
    main()
