"""Benchmark: what watching exploration costs. The ExplorationCallback's probe against a training step, and the
sweep's time per checkpoint.

A Hugging Face Trainer runs causal-LM steps (batch x tokens) with the callback probing every ``--every`` steps;
the table gives the mean training step, the probe (the first one apart: it also fits the reference clustering),
their ratio, and the probes' share of the training wall time. Then three checkpoints of the run are saved and
swept: seconds per checkpoint (loading included). Ratios are measured in the same run, so they hold on a busy
machine; absolute seconds do not.

    PYTHONPATH=. python benchmarks/bench_callback.py [--model tiny|smollm2-135m] [--steps 6] [--every 2]
"""
from __future__ import annotations

import argparse
import tempfile
import time

PROMPTS = ["What is 7 + 5? Think step by step.", "Count the letters in the word banana.",
           "Name three prime numbers and say why they are prime.", "What is 12 times 3?"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="tiny", help="tiny (the random test model) or smollm2-135m")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--every", type=int, default=2)
    p.add_argument("--batch", type=int, default=8, help="sequences per training step")
    p.add_argument("--tokens", type=int, default=96, help="tokens per training sequence")
    p.add_argument("--samples", type=int, default=4, help="probe samples per prompt (4 prompts)")
    p.add_argument("--max-new-tokens", type=int, default=48)
    args = p.parse_args()

    import torch
    from transformers import Trainer, TrainingArguments

    import reasongraph as rg
    from reasongraph.train.callback import ExplorationCallback
    from reasongraph.train.sweep import sweep

    lm = (rg.tiny_random_model(seed=0, device="cpu", dtype="float32")
          if args.model == "tiny" else rg.load_model(args.model, device="cpu", dtype="float32"))
    model = lm.model.requires_grad_(True).train()
    text = " ".join(f"Step {i}: add {i} to the total and check it." for i in range(40))
    ids = torch.tensor(lm.tokenizer(text)["input_ids"][:args.tokens])
    data = [{"input_ids": ids, "labels": ids} for _ in range(args.batch * args.steps)]
    probe = dict(samples=args.samples, max_new_tokens=args.max_new_tokens, segment="window:8", window=16, stride=8,
                 prompt_format="chat")
    with tempfile.TemporaryDirectory() as tmp:
        targs = TrainingArguments(tmp, max_steps=args.steps, per_device_train_batch_size=args.batch,
                                  learning_rate=1e-5, logging_steps=1, save_strategy="steps", save_steps=args.every,
                                  save_only_model=True, report_to=[], use_cpu=True, disable_tqdm=True)
        trainer = Trainer(model=model, args=targs, train_dataset=data, processing_class=lm.tokenizer)
        watch = ExplorationCallback(PROMPTS, every=args.every, **probe).attach(trainer)
        started = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - started
        seconds = [m.metrics["seconds"] for _, m in watch.measurements]
        step = sum(watch.step_seconds) / len(watch.step_seconds)
        later = sum(seconds[1:]) / max(1, len(seconds) - 1)

        started = time.perf_counter()
        result = sweep([tmp], PROMPTS, **probe)
        per_checkpoint = (time.perf_counter() - started) / len(result.rows)

    print(f"model {lm.name}; training step: {args.batch} x {args.tokens} tokens; probe: {len(PROMPTS)} prompts x "
          f"{args.samples} samples x <= {args.max_new_tokens} tokens, every {args.every} steps")
    rows = [("training step (mean)", step, 1.0),
            ("first probe (fits the reference)", seconds[0], seconds[0] / step),
            ("later probe (mean)", later, later / step),
            ("sweep, per checkpoint (load + probe)", per_checkpoint, per_checkpoint / step)]
    for name, s, ratio in rows:
        print(f"  {name:<38} {s:8.2f} s   {ratio:6.2f} x a training step")
    print(f"  probes' share of the training wall time: {sum(seconds) / wall:.1%} "
          f"({len(seconds)} probes over {args.steps} steps)")


if __name__ == "__main__":
    main()
