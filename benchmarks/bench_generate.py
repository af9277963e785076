"""What recording the policy's token entropy costs during sampling: sample_batch against the bare model.generate.

    python benchmarks/bench_generate.py [--model smollm2-135m] [--samples 4] [--max-new-tokens 128] [--repeats 5]

bare     : model.generate with the settings sample_batch uses (the same clean generation config, seed, temperature,
           top-p, EOS and pad), no logits processor.
recorded : reasongraph.generate.sample_batch: the same call with the entropy recorder as a logits processor, then
           the entropies stacked to numpy and each row cut at its EOS.
Both draw the same tokens (checked), so they do the same number of decoding steps. The two run alternately in one
process, the order flipped every repeat; the table gives median wall seconds, median CPU seconds of the process
(steadier than wall time on a shared machine; ``--threads 1`` makes it a count of work), generated tokens per
wall second (rows x steps, EOS padding included, as the model computes them) and the ratios to bare. The target:
recording costs at most 10%.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

import reasongraph as rg
from reasongraph.generate import plain_sampling, sample_batch

PROMPT = "Question: what is 17 * 23? Let us think step by step. First,"


def bare(lm, ids, args) -> torch.Tensor:
    with plain_sampling(lm, args.seed) as fixed:
        x = torch.tensor([ids], device=lm.device)
        return lm.model.generate(x, attention_mask=torch.ones_like(x), temperature=args.temperature,
                                 top_p=args.top_p, max_new_tokens=args.max_new_tokens,
                                 num_return_sequences=args.samples, **fixed)[:, len(ids):]


def recorded(lm, ids, args):
    return sample_batch(lm, ids, n=args.samples, seed=args.seed, temperature=args.temperature, top_p=args.top_p,
                        max_new_tokens=args.max_new_tokens)


def _sync(lm) -> None:
    if lm.device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--device", default=None)
    ap.add_argument("--dtype", default=None)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--top-p", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    lm = rg.load_model(args.model, device=args.device, dtype=args.dtype)
    ids = lm.tokenizer(PROMPT)["input_ids"]
    methods = {"bare": bare, "recorded": recorded}
    tokens = bare(lm, ids, args).cpu()  # warm-up, and the tokens both must draw
    drawn = recorded(lm, ids, args)
    n_steps = tokens.shape[1]
    for row, s in zip(tokens.numpy(), drawn):
        assert row[:len(s.token_ids)].tolist() == s.token_ids.tolist(), "the recorder changed what was sampled"
    times: dict[str, list[float]] = {name: [] for name in methods}
    cpu: dict[str, list[float]] = {name: [] for name in methods}
    for r in range(args.repeats):
        for name in (list(methods) if r % 2 == 0 else list(methods)[::-1]):
            _sync(lm)
            t0, c0 = time.perf_counter(), time.process_time()
            methods[name](lm, ids, args)
            _sync(lm)
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)

    gen = args.samples * n_steps
    print(f"{lm.name} on {lm.device} ({lm.dtype}), {args.samples} samples x {n_steps} steps, T={args.temperature}, "
          f"top_p={args.top_p}, {torch.get_num_threads()} threads, median of {args.repeats} interleaved repeats")
    print(f"{'method':<10}{'wall s':>9}{'tokens/s':>10}{'ratio':>8}{'cpu s':>9}{'ratio':>8}")
    base, base_cpu = statistics.median(times["bare"]), statistics.median(cpu["bare"])
    for name in methods:
        wall, c = statistics.median(times[name]), statistics.median(cpu[name])
        print(f"{name:<10}{wall:>9.3f}{gen / wall:>10.1f}{wall / base:>8.3f}{c:>9.3f}{c / base_cpu:>8.3f}")
    ratios = [a / b for a, b in zip(times["recorded"], times["bare"])]
    print(f"recording overhead (wall): {100 * (statistics.median(times['recorded']) / base - 1):+.1f}% "
          f"(target <= 10%); per-repeat wall ratios: {', '.join(f'{x:.3f}' for x in ratios)}")


if __name__ == "__main__":
    main()
