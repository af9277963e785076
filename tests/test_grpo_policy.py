"""The GRPO policy recipe (examples/grpo_policy.py): its problem sets, its rewards, and its smoke run."""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import grpo_common  # noqa: E402
from conftest import run_example  # noqa: E402

SETS = ROOT / "fixtures" / "grpo_problems"
#: Each template's answer, recomputed from the numbers in its text (independently of how they were drawn).
TEMPLATES = {
    r"has (\d+) \w+, buys (\d+) more and gives away (\d+)\.": lambda a, b, c: a + b - c,
    r"had (\d+) \w+\. \w+ gave (\d+) to a friend, then found (\d+) and bought (\d+) more\.":
        lambda a, b, c, d: a - b + c + d,
    r"buys (\d+) boxes of \w+ with (\d+) \w+ in each box, then gives away (\d+) \w+\.": lambda b, p, c: b * p - c,
    r"has (\d+) \w+ and \w+ has (\d+) \w+\. They put them together and lose (\d+)\.": lambda a, b, c: a + b - c,
}


def _answer(prompt: str) -> int:
    problem = prompt.rsplit("Problem: ", 1)[1]  # after the worked example
    found = [(rule, m) for rule, m in ((r, re.search(p, problem)) for p, r in TEMPLATES.items()) if m]
    assert len(found) == 1, prompt
    rule, m = found[0]
    return rule(*map(int, m.groups()))


def test_the_shipped_problem_sets_are_what_the_seeds_draw_and_disjoint():
    sizes = {"test": 24, "validation": 24, "train": 2000}
    sets = grpo_common.split(sizes, {"test": 2, "validation": 1, "train": 0})
    for name in ("validation", "test"):
        assert grpo_common.read_jsonl(SETS / f"{name}.jsonl") == sets[name]
    prompts = {name: {p["prompt"] for p in rows} for name, rows in sets.items()}
    assert {name: len(p) for name, p in prompts.items()} == sizes  # no repeat inside a set
    held_out = prompts["test"] | prompts["validation"]
    assert not prompts["test"] & prompts["validation"] and not held_out & prompts["train"]
    for rows in sets.values():
        assert all(p["answer"] == _answer(p["prompt"]) > 0 for p in rows)
        assert len({p["id"] for p in rows}) == len(rows)
    assert {p["prompt"].startswith(grpo_common.STEPS) for p in sets["test"]} == {True}


def test_the_rewards_on_replies_written_by_hand():
    good = "12 + 7 = 19\n19 - 5 = 14\nAnswer: 14"
    replies = [good, "Answer: 14", "12 + 7 = 19\n19 - 5 = 14\nAnswer: 15", "12 + 7 = 19\n19 - 5 = 14\nso 14 it is",
               [{"role": "assistant", "content": good + "."}], "First, 12 + 7 = 19.\nThen 19 - 5 = 14.\n**Answer: 14**"]
    assert grpo_common.correctness_reward(replies, answer=[14] * 6) == [1, 1, 0, 1, 1, 1]
    assert grpo_common.format_reward(replies) == [1, 2 / 3, 1, 0, 1, 1]
    assert grpo_common.format_reward(["Answer: 14\nmore text"]) == [1 / 3]


def _digests(folder: Path) -> dict:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_the_recipe_s_smoke_run(tmp_path):
    """examples/grpo_policy.py --smoke: 2 GRPO steps of a LoRA on the tiny model, both adapters saved in bf16,
    the validation sampled from the base and from BASE+ADAPTER_DIR, nothing written into fixtures/."""
    pytest.importorskip("peft", reason="the rl extra (trl, peft) is not installed")
    from safetensors import safe_open

    from reasongraph.models.adapter_identity import adapter_sha256

    fixtures = _digests(ROOT / "fixtures")
    out = tmp_path / "policy"
    run_example("grpo_policy.py", out)
    run = json.loads((out / "run.json").read_text())
    assert run["steps_trained"] == 2 and [c["step"] for c in run["curves"]] == [1, 2]
    for name in ("adapter", "adapter-mid"):
        assert run["adapter_sha256"][name] == adapter_sha256(out / name)
        with safe_open(out / name / "adapter_model.safetensors", "pt") as f:
            assert {str(f.get_tensor(k).dtype) for k in f.keys()} == {"torch.bfloat16"}
    v = run["validation"]
    assert v["base"]["samples"] == v["policy"]["samples"] == 4
    assert v["base"]["model"] == "tiny-random-llama-0"
    assert v["policy"]["model"] == f"tiny-random-llama-0+adapter@{run['adapter_sha256']['adapter'][:8]}"
    assert _digests(ROOT / "fixtures") == fixtures
