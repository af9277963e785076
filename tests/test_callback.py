"""ExplorationCallback on a real (tiny) Hugging Face Trainer run, and the GRPO example's smoke run.

A 3-step Trainer run of the tiny random model with every=2: the probe's measures appear in the trainer's log
history with the right keys at steps 0 and 2 only, the trainer's own log of those steps is still there, the model
is exactly as the callback found it at each probe (flags, parameters, gradients), and the logged numbers equal a
separate score of the same samples with the weights of that step. Bad input fails before training.
"""
from __future__ import annotations

import json

import pytest

from reasongraph.core.errors import InputError
from reasongraph.train.probe.measurement import METRICS
from reasongraph.train.probe.probe import ExplorationProbe
from conftest import run_example
from test_probe import PROMPTS, assert_metrics_match, rescore

pytest.importorskip("transformers")
OPTIONS = dict(samples=2, max_new_tokens=32, segment="window:6", window=12, stride=6, seed=1)


def _trainer(tiny_dir, tmp_path, callbacks=(), max_steps=3, save_steps=None):
    import torch
    from transformers import Trainer, TrainingArguments

    import reasongraph as rg

    lm = rg.load_model(tiny_dir, device="cpu", dtype="float32")
    model = lm.model.requires_grad_(True).train()
    ids = lm.tokenizer("one two three four five six seven eight nine ten " * 3)["input_ids"][:24]
    data = [{"input_ids": torch.tensor(ids), "labels": torch.tensor(ids)} for _ in range(8)]
    saving = {"save_strategy": "steps", "save_steps": save_steps, "save_only_model": True} if save_steps else \
        {"save_strategy": "no"}
    args = TrainingArguments(str(tmp_path / "trainer"), max_steps=max_steps, per_device_train_batch_size=2,
                             learning_rate=0.05, logging_steps=1, report_to=[], use_cpu=True, disable_tqdm=True,
                             seed=0, **saving)
    return lm, Trainer(model=model, args=args, train_dataset=data, processing_class=lm.tokenizer,
                       callbacks=list(callbacks))


def _spy():
    """A callback that records the model's state (flags, parameters, gradients) at each step end and at the start."""
    from transformers import TrainerCallback

    class Spy(TrainerCallback):
        def __init__(self):
            self.seen = []

        def record(self, state, model):
            self.seen.append((state.global_step, [m.training for m in model.modules()],
                              {k: v.detach().clone() for k, v in model.named_parameters()},
                              {k: None if v.grad is None else v.grad.clone() for k, v in model.named_parameters()}))

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            self.record(state, model)

        def on_step_end(self, args, state, control, model=None, **kwargs):
            self.record(state, model)

    return Spy()


def test_logs_at_the_right_steps_with_the_model_untouched_and_numbers_equal_a_separate_score(tiny_dir, tmp_path):
    import torch

    from reasongraph.train.callback import ExplorationCallback

    before, after = _spy(), _spy()
    lm, trainer = _trainer(tiny_dir, tmp_path, callbacks=[before])
    watch = ExplorationCallback(PROMPTS, every=2, **OPTIONS).attach(trainer)
    trainer.add_callback(after)  # the callback handler keeps the order: before, watch, after
    trainer.train()

    logged = {e["step"]: e for e in trainer.state.log_history if "exploration/H_mean" in e}
    assert sorted(logged) == [0, 2]
    keys = {f"exploration/{k}" for k in METRICS} | {"epoch", "step"}
    without_answers = {f"exploration/{k}" for k in ("accuracy", "cov_logp_adv", "zero_adv_groups", "n_adv_groups")}
    assert set(logged[0]) == keys - without_answers  # no answers: accuracy and the covariance are NaN, left out
    assert set(logged[2]) == keys - without_answers | {"exploration/step_seconds"}
    assert [s for s, _ in watch.measurements] == [0, 2]
    # the trainer's own log of every step survives the probe's entries
    assert [e["step"] for e in trainer.state.log_history if "loss" in e] == [1, 2, 3]

    for (step_a, flags_a, params_a, grads_a), (step_b, flags_b, params_b, grads_b) in zip(before.seen, after.seen):
        assert step_a == step_b and flags_a == flags_b
        assert all(torch.equal(params_a[k], params_b[k]) for k in params_a)
        assert all((grads_a[k] is None and grads_b[k] is None) or torch.equal(grads_a[k], grads_b[k])
                   for k in grads_a)
    assert all(flags[0] for _, flags, _, _ in after.seen)  # the model was in train mode, and still is

    # a separate score of each probe's samples, with the weights the model had at that step
    for step, measurement in watch.measurements:
        weights = next(p for s, _, p, _ in before.seen if s == step)
        with torch.no_grad():
            for name, param in lm.model.named_parameters():
                param.copy_(weights[name])
        expected = rescore(lm, watch.probe, measurement.rows)
        assert_metrics_match(measurement.metrics, expected)
        for key, value in expected.items():
            assert logged[step][f"exploration/{key}"] == pytest.approx(value, rel=1e-6, abs=1e-9)
    assert logged[0]["exploration/H_mean"] != logged[2]["exploration/H_mean"]  # training moved the policy


def test_a_live_probe_equals_a_sweep_of_the_checkpoint_saved_at_its_step(tiny_dir, tmp_path):
    """The probe at step 2 (scored in its sampling pass) against a sweep of checkpoint-2, the same weights saved
    by the trainer, with the same probe (its reference fixed at step 0) and seed: every measure within 1e-4."""
    from reasongraph.train.callback import ExplorationCallback
    from reasongraph.train.sweep import sweep

    lm, trainer = _trainer(tiny_dir, tmp_path, max_steps=2, save_steps=2)
    watch = ExplorationCallback(PROMPTS, every=2, **OPTIONS).attach(trainer)
    trainer.train()
    live = dict(watch.measurements)[2]
    swept = sweep([tmp_path / "trainer" / "checkpoint-2"], watch.probe, device="cpu", dtype="float32")
    row = swept.rows[0]
    assert row["step"] == 2
    for key in METRICS:
        if key != "seconds":
            assert row[key] == pytest.approx(live.metrics[key], rel=1e-4, abs=1e-4, nan_ok=True), key
    assert [r["text"] for r in swept.samples] == [r["text"] for r in live.rows]


def test_every_must_be_a_whole_number_of_at_least_one():
    from reasongraph.train.callback import ExplorationCallback

    for every in (0, -3, 1.5, "2", True):
        with pytest.raises(InputError, match="every must be"):
            ExplorationCallback(PROMPTS, every=every)


def test_bad_probe_input_fails_when_the_callback_is_made(tmp_path):
    from reasongraph.train.callback import ExplorationCallback

    files = [tmp_path / "probes.jsonl", tmp_path / "probes.txt"]
    for path in files:
        path.write_text("\n")
    for prompts in (*files, []):
        with pytest.raises(InputError, match="no prompt"):
            ExplorationCallback(prompts, every=5)
    with pytest.raises(InputError, match="belong to the probe"):
        ExplorationCallback(ExplorationProbe(PROMPTS), every=5, samples=2)


def test_a_callback_that_was_not_attached_stops_before_training(tiny_dir, tmp_path):
    from reasongraph.train.callback import ExplorationCallback

    watch = ExplorationCallback(PROMPTS, every=1, **OPTIONS)
    lm, trainer = _trainer(tiny_dir, tmp_path, callbacks=[watch])
    with pytest.raises(InputError, match=r"attach\(trainer\)"):
        trainer.train()
    assert trainer.state.global_step == 0


@pytest.mark.slow
def test_grpo_example_smoke_run(tmp_path):
    """examples/grpo_collapse.py --smoke: TRL GRPO for 2 steps with the tiny model, the callback live, the sweep."""
    out = tmp_path / "grpo"
    run_example("grpo_collapse.py", out)
    run = json.loads((out / "run.json").read_text())
    assert run["steps"] == 2 and run["probe_calls"] == 3
    live = [json.loads(line) for line in (out / "live.jsonl").read_text().splitlines()]
    assert [r["step"] for r in live] == [0, 1, 2]
    rows = [json.loads(line) for line in (out / "sweep" / "sweep.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2]
    assert all(r["n_samples"] == 4 for r in rows)
    history = json.loads((out / "log_history.json").read_text())
    assert [e["step"] for e in history if "reward" in e and "loss" in e] == [1, 2]
    assert (out / "sweep" / "report.html").stat().st_size > 10_000
    config = json.loads((out / "checkpoints" / "checkpoint-2" / "config.json").read_text())
    assert config["dtype"] == "bfloat16"
