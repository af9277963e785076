"""A small real RL run that watches exploration collapse: TRL's GRPOTrainer on addition problems, on CPU.

SmolLM2-135M-Instruct (the default model) learns to answer "What is 7 + 12?" with a verifiable reward (1 when the
last number of its reply is the sum, else 0) for as many steps as the time budget allows. While it trains,
:class:`reasongraph.train.ExplorationCallback` probes the live policy every few steps on held-out problems
(same prompts, samples and seed each time), and a checkpoint is saved every few steps in bfloat16. After training,
:func:`reasongraph.train.sweep.sweep` measures every checkpoint again, fits the entropy-performance law on the
probe's accuracy and writes the report.

    python examples/grpo_collapse.py --out out/grpo-collapse              # about 30 minutes of training on 2 cores
    python examples/grpo_collapse.py --smoke --out /tmp/grpo-smoke        # 2 steps with the tiny random model

Writes into --out: checkpoints/checkpoint-<step>/ (bf16 safetensors, tokenizer, trainer_state.json), probes.jsonl
(the probe problems with their answers), live.jsonl (the callback's measurement at each probed step),
log_history.json (everything the trainer logged), sweep/ (sweep.jsonl, samples.jsonl, summary.json, report.html)
and run.json (the settings, the steps trained, the wall times and the callback's overhead).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from transformers import TrainerCallback

from grpo_common import chat_dataset, correctness_reward, grpo_config, problems, safetensors_to_bf16


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="out/grpo-collapse")
    p.add_argument("--smoke", action="store_true", help="2 steps with the tiny random model (CI)")
    p.add_argument("--minutes", type=float, default=30.0, help="training time budget (probes included)")
    p.add_argument("--max-steps", type=int, default=1000, help="a cap on steps; the time budget usually stops first")
    p.add_argument("--learning-rate", type=float, default=3e-5)
    p.add_argument("--save-every", type=int, default=5, help="save a bf16 checkpoint every N steps")
    p.add_argument("--probe-every", type=int, default=5, help="probe the live policy every N steps")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.smoke:
        args.max_steps, args.save_every, args.probe_every = 2, 1, 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = run_settings(args)
    started = time.perf_counter()
    trained = train(args, settings, out)
    sweep_seconds = run_sweep(args, settings, out)
    summary = {**trained, "settings": settings, "sweep_seconds_per_checkpoint": sweep_seconds,
               "total_minutes": (time.perf_counter() - started) / 60}
    (out / "run.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "settings"}, indent=1))
    return 0


def run_settings(args: argparse.Namespace) -> dict:
    """Everything that defines the run; the smoke run is the same code at toy sizes."""
    smoke = args.smoke
    return {
        "model": "tiny-random" if smoke else "smollm2-135m",
        "train_problems": 16 if smoke else 2000, "probe_problems": 2 if smoke else 4,
        "probe_samples": 2 if smoke else 4, "num_generations": 2 if smoke else 4,
        "batch_size": 4 if smoke else 8, "max_completion_length": 16 if smoke else 48,
        "learning_rate": args.learning_rate, "temperature": 1.0, "seed": args.seed,
        # Completions of a few dozen tokens: the paper's windows (128 tokens for erank_window, stride 40 for ERV)
        # and newline steps would leave the hidden level undefined, so the probe uses 16-token windows, stride 8
        # and 8-token steps (the same for every checkpoint, so the numbers compare across steps).
        "probe": {"window": 8 if smoke else 16, "stride": 4 if smoke else 8, "segment": "window:8",
                  "max_new_tokens": 16 if smoke else 48, "prompt_format": "chat", "temperature": 1.0},
    }


def load(settings: dict):
    import reasongraph as rg

    if settings["model"] == "tiny-random":
        return rg.tiny_random_model(seed=0, device="cpu", dtype="float32")
    return rg.load_model(settings["model"], device="cpu", dtype="float32")


def train(args: argparse.Namespace, settings: dict, out: Path) -> dict:
    import torch
    from trl import GRPOTrainer

    from reasongraph.train import ExplorationCallback
    from reasongraph.train.probe import ExplorationProbe

    torch.manual_seed(args.seed)
    lm = load(settings)
    model = lm.model.requires_grad_(True).train()
    train_set = chat_dataset(problems(settings["train_problems"], seed=args.seed, kind="addition"))
    probes = problems(settings["probe_problems"], seed=args.seed + 1000, kind="addition")  # held out: another seed
    (out / "probes.jsonl").write_text("".join(json.dumps(q) + "\n" for q in probes))
    checkpoints = out / "checkpoints"
    config = grpo_config(
        checkpoints, seed=args.seed, max_steps=args.max_steps, learning_rate=settings["learning_rate"],
        batch_size=settings["batch_size"], num_generations=settings["num_generations"],
        max_completion_length=settings["max_completion_length"], save_strategy="steps", save_steps=args.save_every,
        save_only_model=True)
    trainer = GRPOTrainer(model=model, reward_funcs=correctness_reward, args=config, train_dataset=train_set,
                          processing_class=lm.tokenizer, callbacks=[Bf16Checkpoints(lm.tokenizer),
                                                                    TimeBudget(args.minutes)])
    probe = ExplorationProbe(out / "probes.jsonl", samples=settings["probe_samples"], answer_field="answer",
                             seed=args.seed, **settings["probe"])
    watch = ExplorationCallback(probe, every=args.probe_every).attach(trainer)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    with open(out / "live.jsonl", "w") as f:
        for step, m in watch.measurements:
            f.write(json.dumps({"step": step, **{k: _finite(v) for k, v in m.metrics.items()}}) + "\n")
    (out / "log_history.json").write_text(json.dumps(trainer.state.log_history, indent=1))
    probe_seconds = sum(m.metrics["seconds"] for _, m in watch.measurements)
    step_seconds = watch.step_seconds
    return {"steps": trainer.state.global_step, "train_minutes": seconds / 60,
            "probe_calls": len(watch.measurements), "probe_seconds_mean": probe_seconds / len(watch.measurements),
            "train_step_seconds_mean": sum(step_seconds) / max(1, len(step_seconds)),
            "probe_share_of_training_time": probe_seconds / seconds}


def _finite(v: float) -> float | None:
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None


class TimeBudget(TrainerCallback):
    """Stop training (with a final checkpoint) once the wall time since the start passes the budget."""

    def __init__(self, minutes: float) -> None:
        self.minutes, self.started = minutes, time.perf_counter()

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if time.perf_counter() - self.started > 60 * self.minutes:
            control.should_training_stop = True
            control.should_save = True


class Bf16Checkpoints(TrainerCallback):
    """Save the untrained model as checkpoint-0, and rewrite every checkpoint's weights in bfloat16 (half the
    disk of float32; the sweep loads them back in float32)."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": state.global_step, "log_history": []}))
        to_bf16(folder)

    def on_save(self, args, state, control, **kwargs):
        to_bf16(Path(args.output_dir) / f"checkpoint-{state.global_step}")


def to_bf16(folder: Path) -> None:
    """Rewrite a saved model's safetensors in bfloat16 and say so in its config."""
    safetensors_to_bf16(folder)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    config["dtype"] = "bfloat16"
    config_path.write_text(json.dumps(config, indent=2))


def run_sweep(args: argparse.Namespace, settings: dict, out: Path) -> float:
    from reasongraph.train.sweep import sweep

    started = time.perf_counter()
    result = sweep([out / "checkpoints"], out / "probes.jsonl", out=out / "sweep", reward_field="reward",
                   samples=settings["probe_samples"], answer_field="answer", seed=args.seed, device="cpu",
                   dtype="float32", title=f"GRPO on addition problems: {settings['model']}", **settings["probe"])
    seconds = time.perf_counter() - started
    for row in result.rows:
        print(f"step {row['step']:>4}  H_mean {row['H_mean']:.4f}  erank_window {row['erank_window']:.3f}  "
              f"revisits/step {row['revisits_per_step']:.3f}  accuracy {row['accuracy']:.3f}", file=sys.stderr)
    return seconds / len(result.rows)


if __name__ == "__main__":
    sys.exit(main())
