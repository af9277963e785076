"""What the exploration probe costs against real TRL GRPO steps, with the GRPO example's settings, in one run.

    python benchmarks/bench_probe.py [--steps 3] [--repeats 2] [--every 5] [--threads 1] [--smoke]

A TRL ``GRPOTrainer`` trains SmolLM2-135M on the example's addition problems (examples/grpo_collapse.py's
settings: 8 completions per step, 4 per prompt, up to 48 tokens, learning rate 3e-5) for ``--steps`` steps, with
``ExplorationCallback`` probing the live policy at the start and after the last step (the example's probe: 4
held-out problems x 4 samples, up to 48 tokens, chat format, 8-token steps). Then, on the trained model, the
probe is timed ``--repeats`` more times in each scoring mode, alternating:

sampling       : the probe as it runs now: every sample drawn in one batched call that also records what scoring
                 needs (entropy, log-probs, the layer's hidden states); no second forward pass.
teacher_forced : the same samples, scored by a teacher-forced pass over their texts (the probe before).

The table gives the mean training step (the probes excluded), each probe's median seconds, its ratio to a step
and its share of the training wall time when it runs every ``--every`` steps: probe / (every x step + probe)
(goal: <= 10% for the sampling probe; it was 21.7% in the example's run). The first live probe also fits the
reference clustering and is listed apart. ``--smoke``: the tiny random model, 2 steps, 1 repeat (a check that
the script runs, not a measurement).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import REPO

sys.path.insert(0, str(REPO / "examples"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.steps, args.repeats = 2, 1

    import torch
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    import grpo_collapse as example
    from reasongraph.train.callback import ExplorationCallback
    from reasongraph.train.probe.probe import ExplorationProbe

    torch.set_num_threads(args.threads)
    settings = example.run_settings(argparse.Namespace(smoke=args.smoke, learning_rate=3e-5, seed=0))
    torch.manual_seed(0)
    lm = example.load(settings)
    model = lm.model.requires_grad_(True).train()
    train_set = Dataset.from_list([{"prompt": [{"role": "user", "content": q["prompt"]}], "answer": q["answer"]}
                                   for q in example.problems(settings["train_problems"], seed=0)])
    with tempfile.TemporaryDirectory() as tmp:
        probes = Path(tmp) / "probes.jsonl"
        probes.write_text("".join(json.dumps(q) + "\n" for q in example.problems(settings["probe_problems"],
                                                                                   seed=1000)))
        config = GRPOConfig(
            output_dir=tmp, use_cpu=True, bf16=False, seed=0, max_steps=args.steps,
            learning_rate=settings["learning_rate"], lr_scheduler_type="constant", warmup_steps=0,
            per_device_train_batch_size=settings["batch_size"], num_generations=settings["num_generations"],
            max_completion_length=settings["max_completion_length"], temperature=settings["temperature"],
            logging_steps=1, save_strategy="no", report_to="none", disable_tqdm=True, dataloader_num_workers=0)
        trainer = GRPOTrainer(model=model, reward_funcs=example.correctness_reward, args=config,
                              train_dataset=train_set, processing_class=lm.tokenizer)
        options = dict(samples=settings["probe_samples"], answer_field="answer", seed=0, **settings["probe"])
        probe = ExplorationProbe(probes, **options)
        watch = ExplorationCallback(probe, every=args.steps).attach(trainer)
        started = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - started
        live = [m.metrics["seconds"] for _, m in watch.measurements]
        step = statistics.mean(watch.step_seconds)

        modes = {"sampling": probe, "teacher_forced": ExplorationProbe(probes, scoring="teacher_forced", **options)}
        modes["teacher_forced"].clusterer_ = probe.clusterer_  # the same reference: no second fit
        modes["teacher_forced"].forking_threshold_ = probe.forking_threshold_
        seconds: dict[str, list[float]] = {name: [] for name in modes}
        for r in range(args.repeats):
            for name in (list(modes) if r % 2 == 0 else list(modes)[::-1]):
                seconds[name].append(modes[name].measure(lm).metrics["seconds"])

    print(f"{lm.name}, TRL GRPO on cpu ({args.threads} thread(s)): {args.steps} steps of "
          f"{settings['batch_size']} completions (<= {settings['max_completion_length']} tokens) in {wall:.0f} s "
          f"with {len(live)} live probes; probe: {settings['probe_problems']} prompts x "
          f"{settings['probe_samples']} samples, <= {settings['probe']['max_new_tokens']} tokens")
    print(f"{'':<40}{'seconds':>9}{'x a step':>10}{f'share at every {args.every}':>20}")
    print(f"{'training step (mean)':<40}{step:>9.2f}{1.0:>9.2f}x")
    rows = [("live probe, first (fits the reference)", live[0])]
    rows += [("live probe, later (sampling)", statistics.mean(live[1:]))] if len(live) > 1 else []
    rows += [(f"probe, {name} (median of {len(s)})", statistics.median(s)) for name, s in seconds.items()]
    for name, s in rows:
        print(f"{name:<40}{s:>9.2f}{s / step:>9.2f}x{s / (args.every * step + s):>19.1%}")
    print("share: the probe's part of the training wall time when it runs every N steps (goal for sampling: <= 10%)")


if __name__ == "__main__":
    main()
