"""What the GRPO examples share: problems with verifiable answers drawn with a seed, their rewards, the dataset
and the TRL settings.

Two kinds: one-step additions ("What is 7 + 12?", examples/grpo_collapse.py) and short word problems with two or
three operations whose replies take several lines (examples/grpo_policy.py), so that a reasoning graph has steps
to cluster. A problem is {"id", "prompt", "answer"}; ``prompt`` is the user's message (the chat template adds
the rest). Disjoint train / validation / test sets come from :func:`split`: each set is drawn with its own seed,
and a problem whose text already belongs to an earlier set is drawn again.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

ADDITION = "What is {a} + {b}? Reply with just the number."
#: The word problems' instruction, with one worked example: without it, SmolLM2-135M at T = 1 ended 3 of 64 replies
#: with an 'Answer: N' line; with it, 14 of 64 had one (examples/grpo_policy_tries.md).
STEPS = ("Solve the problem step by step, one step per line, and end with 'Answer: N'. For example:\n"
         "Problem: Ann has 12 apples, buys 7 more and gives away 5. How many apples does Ann have now?\n"
         "Ann starts with 12 apples.\nShe buys 7 more: 12 + 7 = 19.\nShe gives away 5: 19 - 5 = 14.\nAnswer: 14\n\n"
         "Problem: ")

_NAMES = ("Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jon", "Kim", "Leo", "Mia", "Noor",
          "Omar", "Pia", "Raj", "Sara", "Tom", "Uma", "Vic", "Wen", "Yan", "Zoe")
_ITEMS = ("apples", "pens", "cards", "marbles", "stickers", "books", "shells", "coins", "eggs", "stamps")


def _add_buy_give(rng: random.Random, name: str, item: str) -> tuple[str, int]:
    a, b = rng.randint(5, 20), rng.randint(2, 12)
    c = rng.randint(2, a + b - 1)
    return f"{name} has {a} {item}, buys {b} more and gives away {c}. How many {item} does {name} have now?", a + b - c


def _give_then_get(rng: random.Random, name: str, item: str) -> tuple[str, int]:
    a = rng.randint(8, 25)
    b, c, d = rng.randint(2, a - 2), rng.randint(2, 12), rng.randint(2, 9)
    return (f"{name} had {a} {item}. {name} gave {b} to a friend, then found {c} and bought {d} more. "
            f"How many {item} does {name} have now?", a - b + c + d)


def _boxes(rng: random.Random, name: str, item: str) -> tuple[str, int]:
    per, boxes = rng.randint(2, 6), rng.randint(2, 5)
    c = rng.randint(1, per * boxes - 1)
    return (f"{name} buys {boxes} boxes of {item} with {per} {item} in each box, then gives away {c} {item}. "
            f"How many {item} does {name} have left?", per * boxes - c)


def _two_friends(rng: random.Random, name: str, item: str) -> tuple[str, int]:
    other = rng.choice([n for n in _NAMES if n != name])
    a, b = rng.randint(3, 15), rng.randint(3, 15)
    c = rng.randint(1, a + b - 1)
    return (f"{name} has {a} {item} and {other} has {b} {item}. They put them together and lose {c}. "
            f"How many {item} do they have now?", a + b - c)


_KINDS = (_add_buy_give, _give_then_get, _boxes, _two_friends)


def word_problem(rng: random.Random) -> tuple[str, int]:
    """One word problem with two or three operations (whole numbers, every intermediate result positive)."""
    kind, name, item = rng.choice(_KINDS), rng.choice(_NAMES), rng.choice(_ITEMS)
    text, answer = kind(rng, name, item)
    return STEPS + text, answer


def addition(rng: random.Random, low: int = 2, high: int = 12) -> tuple[str, int]:
    """One addition: both terms from ``low`` to ``high``."""
    a, b = rng.randint(low, high), rng.randint(low, high)
    return ADDITION.format(a=a, b=b), a + b


_ID_PREFIX = {"steps": "s", "addition": "p"}


def problems(n: int, seed: int, *, kind: str = "steps", avoid: set[str] | frozenset[str] = frozenset()) -> list[dict]:
    """``n`` distinct problems drawn with ``seed``: {"id", "prompt", "answer"}. ``kind``: "steps" (word problems)
    or "addition". A word problem in ``avoid`` (or drawn before) is drawn again, so sets built this way are
    disjoint; additions (there are only 121) may repeat."""
    draw = {"steps": word_problem, "addition": addition}[kind]
    rng, seen, out = random.Random(seed), set(avoid), []
    while len(out) < n:
        prompt, answer = draw(rng)
        if kind == "steps" and prompt in seen:
            continue
        seen.add(prompt)
        out.append({"id": f"{_ID_PREFIX[kind]}{seed}-{len(out)}", "prompt": prompt, "answer": answer})
    return out


def split(sizes: dict[str, int], seeds: dict[str, int]) -> dict[str, list[dict]]:
    """Disjoint sets of word problems, e.g. ``split({"test": 24, "validation": 20, "train": 2000}, seeds)``: each
    set drawn with its own seed, in the given order, never repeating a prompt of an earlier set."""
    taken: set[str] = set()
    sets = {}
    for name, n in sizes.items():
        sets[name] = problems(n, seeds[name], avoid=taken)
        taken |= {p["prompt"] for p in sets[name]}
    return sets


def write_jsonl(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def _texts(completions: list) -> list[str]:
    return [c[0]["content"] if isinstance(c, list) else c for c in completions]


def correctness_reward(completions: list, answer: list, **kwargs) -> list[float]:
    """GRPO reward: 1.0 when the reply's last number is the answer, else 0.0 (reasongraph.train.probe.is_correct)."""
    from reasongraph.train.probe import is_correct

    return [float(is_correct(t, a)) for t, a in zip(_texts(completions), answer)]


_ANSWER_LINE = re.compile(r"answer:\s*-?\d+\s*\.?", re.IGNORECASE)


def format_reward(completions: list, **kwargs) -> list[float]:
    """GRPO reward in [0, 1]: a third each for a line 'Answer: N', for that line being the last, and for at least
    two lines before it. Graded, because the base model rarely meets all three at T = 1: an all-or-nothing term
    left most groups of 8 without any reward variance, so without a gradient."""
    out = []
    for text in _texts(completions):
        lines = [line.strip("*# ") for line in text.strip().splitlines() if line.strip()]
        found = [i for i, line in enumerate(lines) if _ANSWER_LINE.fullmatch(line)]
        i = found[-1] if found else None
        out.append(0.0 if i is None else (1 + (i == len(lines) - 1) + (i >= 2)) / 3)
    return out


def chat_dataset(rows: list[dict]):
    """A ``datasets.Dataset`` of chat prompts (the user's message) with their answers, as GRPOTrainer reads it."""
    from datasets import Dataset

    return Dataset.from_list([{"prompt": [{"role": "user", "content": q["prompt"]}], "answer": q["answer"]}
                              for q in rows])


def grpo_config(output_dir: str | Path, *, seed: int, max_steps: int, learning_rate: float, batch_size: int,
                num_generations: int, max_completion_length: int, **overrides):
    """TRL's GRPOConfig as both examples run it: CPU, float32, a constant learning rate, every step logged, no KL
    term (TRL's default beta = 0), no progress bar or reporting; ``overrides`` for the rest."""
    from trl import GRPOConfig

    settings = dict(
        output_dir=str(output_dir), use_cpu=True, bf16=False, seed=seed, max_steps=max_steps,
        learning_rate=learning_rate, lr_scheduler_type="constant", warmup_steps=0,
        per_device_train_batch_size=batch_size, num_generations=num_generations,
        max_completion_length=max_completion_length, temperature=1.0, logging_steps=1, report_to="none",
        disable_tqdm=True, dataloader_num_workers=0)
    return GRPOConfig(**{**settings, **overrides})


def safetensors_to_bf16(folder: Path) -> None:
    """Rewrite every safetensors file in ``folder`` with its floating-point tensors in bfloat16 (half of float32)."""
    import torch
    from safetensors.torch import load_file, save_file

    for path in sorted(Path(folder).glob("*.safetensors")):
        tensors = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in load_file(path).items()}
        save_file(tensors, path, metadata={"format": "pt"})
