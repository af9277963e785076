"""Shared prompt prefixes against unshared extraction, on the temperature example's scoring half.

    python benchmarks/bench_prefix.py [--problems 4] [--samples 8] [--max-new-tokens 160] [--repeats 2]
                                      [--threads 1] [--out out/bench_prefix]

The samples have the shape of examples/temperature_collapse.py's: ``--samples`` samples of each of the fixture's
first ``--problems`` MATH500 problems, in chat format with the example's instruction, at T = 1.0 and T = 0.6, at
most ``--max-new-tokens`` tokens (the example: 20 problems, 8 samples, 160 tokens). They are drawn once with
reasongraph's generate into ``--out`` (resumable: a rerun reuses them) and are not timed.

What is timed is pass 1 of scoring them as the example does (one file, each sample at its own temperature): the
chunks ``score`` forms (16 records in file order, per temperature), each extracted with one ``extract_batch``
call at layer 0.9, with ``share_prefix`` False (every trace runs its prompt) and True (each prompt runs once per
chunk; its cached keys and values serve its samples). The two alternate in one process, the order reversed every
repeat; the table gives median wall and CPU seconds, tokens per wall second (prompt + trace tokens of every
record, the work an unshared pass does) and the ratio shared / unshared (goal <= 0.75x; the prompts are ~39% of
the tokens and never reach the LM head, so about 0.7x is the floor). It also checks that both give the same
entropies and step vectors (max |difference|).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from harness import FIXTURE, REPO, first_problems

INSTRUCTION = "Solve the problem. Think step by step, one step per line.\n\nProblem: "
TEMPERATURES = (1.0, 0.6)
CHUNK = 16  # records per extract_batch call, as score forms them (scoring.pass1.DEFAULT_CHUNK)


def samples(lm, args) -> list[dict]:
    """The example's samples at a reduced size, drawn once into --out."""
    import reasongraph as rg

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    problems = list(dict.fromkeys(r["problem"] for r in first_problems(FIXTURE, args.problems)))
    prompts = out / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"id": str(i), "prompt": INSTRUCTION + p}) + "\n"
                               for i, p in enumerate(problems)))
    records = []
    for t in TEMPERATURES:
        records += rg.generate(prompts, model=lm, out=out / f"samples_T{t}.jsonl", samples=args.samples,
                               temperature=t, max_new_tokens=args.max_new_tokens, prompt_format="chat",
                               batch_size=len(problems) * args.samples, progress=False)
    return records


def chunks(records: list[dict]) -> list[list[dict]]:
    out = []
    for t in TEMPERATURES:
        recs = [r for r in records if r["temperature"] == t and r["trace"].strip()]
        out += [recs[i:i + CHUNK] for i in range(0, len(recs), CHUNK)]
    return out


def extract_all(lm, parts: list[list[dict]], share: bool) -> list:
    from reasongraph.trace.extraction.teacher_forced import extract_batch

    return [t for part in parts for t in extract_batch([r["trace"] for r in part], [r["prompt"] for r in part],
                                                       model=lm, layers=(0.9,), temperature=part[0]["temperature"],
                                                       prompt_format="chat", share_prefix=share)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--problems", type=int, default=4)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=160)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: CPU seconds count work)")
    ap.add_argument("--out", default=str(REPO / "out" / "bench_prefix"))
    args = ap.parse_args()

    import torch

    import reasongraph as rg

    torch.set_num_threads(args.threads)
    lm = rg.load_model(args.model, device="cpu", dtype="float32")
    records = samples(lm, args)
    parts = chunks(records)
    n_prompt = n_trace = 0
    for part in parts:
        for r in part:
            enc = lm.tokenizer.apply_chat_template([{"role": "user", "content": r["prompt"]}],
                                                   add_generation_prompt=True, tokenize=False)
            n_prompt += len(lm.tokenizer(enc, add_special_tokens=False)["input_ids"])
            n_trace += len(lm.tokenizer(r["trace"], add_special_tokens=False)["input_ids"])
    methods = {"unshared": False, "shared prefixes": True}
    got = {name: extract_all(lm, parts[:1], share) for name, share in methods.items()}  # warm-up
    times: dict[str, list[float]] = {name: [] for name in methods}
    cpu: dict[str, list[float]] = {name: [] for name in methods}
    for r in range(args.repeats):
        for name in (list(methods) if r % 2 == 0 else list(methods)[::-1]):
            t0, c0 = time.perf_counter(), time.process_time()
            got[name] = extract_all(lm, parts, methods[name])
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)

    a, b = got["unshared"], got["shared prefixes"]
    dh = max(float(np.nanmax(np.abs(x.entropy - y.entropy))) if x.n_tokens else 0.0 for x, y in zip(a, b))
    cos = min(_min_cosine(x.step_vectors(), y.step_vectors()) for x, y in zip(a, b) if x.n_steps)
    n = sum(len(p) for p in parts)
    print(f"{lm.name} on cpu, {torch.get_num_threads()} thread(s); {n} records ({args.problems} problems x "
          f"{args.samples} samples x T in {TEMPERATURES}, <= {args.max_new_tokens} new tokens) in {len(parts)} "
          f"chunks of <= {CHUNK}; {n_prompt} prompt + {n_trace} trace tokens (prompts "
          f"{n_prompt / (n_prompt + n_trace):.0%}); median of {args.repeats} repeats")
    print(f"{'method':<18}{'wall s':>9}{'tokens/s':>10}{'ratio':>8}{'cpu s':>9}{'ratio':>8}")
    base, base_cpu = statistics.median(times["unshared"]), statistics.median(cpu["unshared"])
    for name in methods:
        wall, c = statistics.median(times[name]), statistics.median(cpu[name])
        print(f"{name:<18}{wall:>9.2f}{(n_prompt + n_trace) / wall:>10.1f}{wall / base:>7.2f}x{c:>9.2f}"
              f"{c / base_cpu:>7.2f}x")
    print(f"ratio: the method's time over unshared (goal for shared prefixes: <= 0.75x). Same results: max |dH| "
          f"{dh:.2g} nats, min step-vector cosine {cos:.7f}")
    sys.stdout.flush()


def _min_cosine(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x.astype(np.float64), y.astype(np.float64)
    return float(np.min((x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))))


if __name__ == "__main__":
    main()
