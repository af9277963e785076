"""The exploration probe: on-policy samples of a fixed probe set, scored by the same live model.

Checks that a measurement equals an independent score of the same samples (extraction run again, every measure
recomputed in float64 numpy from the definitions in science.md), that sampling is fixed by the seed, that the
reference (clustering, forking threshold) is fixed by the first measurement, that the model comes back exactly as
it was (train/eval flags per module, parameters, gradients, generation config, the torch RNG), and that bad
options fail with a clear error. Uses the tiny random model: the numbers mean nothing, the bookkeeping is exact.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from reasongraph.core.errors import InputError
from reasongraph.train.probe.measurement import METRICS
from reasongraph.train.probe.probe import ExplorationProbe
from reasongraph.train.probe.answers import is_correct
from reasongraph.train.probe.live_model import live_model, probe_mode

PROMPTS = ["What is 2 + 3?", "Count from one to five.", "Name a color."]
OPTIONS = dict(samples=3, max_new_tokens=40, segment="window:6", window=12, stride=6, seed=3)


# ---------------------------------------------------------------------- an independent score
def _erank(X: np.ndarray) -> float:
    X = X - X.mean(axis=0)
    s = np.linalg.svd(X, compute_uv=False)
    s = s[s > 0]
    p = s / s.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def _erank_window(X: np.ndarray, W: int) -> float:
    ranks = [_erank(X[i:i + W]) for i in range(0, len(X) - W + 1, W)]
    return float(np.mean(ranks)) if ranks else math.nan


def _erv(X: np.ndarray, s: int, keep: int = 512) -> float:
    X = X[-keep:]
    ranks = [_erank(X[:(j + 1) * s]) for j in range(len(X)) if (j + 1) * s < len(X)]
    v = [ranks[j] - np.mean(ranks[:j]) for j in range(1, len(ranks))]
    return float(np.mean(v)) if v else math.nan


def _revisits(walk: list[int]) -> int:
    runs = [w for i, w in enumerate(walk) if i == 0 or walk[i - 1] != w]
    return sum(runs.count(node) - 1 for node in set(runs))


def rescore(lm, probe: ExplorationProbe, rows: list[dict]) -> dict:
    """The probe's metrics of ``rows`` (its samples) from a separate extraction, computed from the definitions."""
    from reasongraph.trace.extraction.teacher_forced import extract_batch

    rows = [r for r in rows if r["text"].strip()]
    prompt = {p.id: p.text for p in probe.prompts_}
    traces = extract_batch([r["text"] for r in rows], [prompt[r["prompt_id"]] for r in rows], model=lm,
                           layers=(probe.layer,), segment=probe.segment, temperature=probe.temperature,
                           prompt_format=probe.prompt_format)
    per = []
    for r, t in zip(rows, traces):
        h = np.asarray(t.entropy, dtype=np.float64)
        h = h[np.isfinite(h)]
        X = np.asarray(t.hidden[t.layers[0]], dtype=np.float64)
        walk = probe.clusterer_.label_trace(t).tolist() if t.n_steps else []
        per.append({"prompt_id": r["prompt_id"], "H": h.mean(), "low": np.mean(h < 0.01),
                    "fork": np.mean(h >= probe.forking_threshold_), "erank": _erank_window(X, probe.window),
                    "erv": _erv(X, probe.stride), "walk": walk,
                    "rps": _revisits(walk) / len(walk) if walk else math.nan, "loop": _revisits(walk) > 0})

    def mean(key: str) -> float:
        x = np.array([p[key] for p in per], dtype=np.float64)
        return float(np.nanmean(x)) if np.isfinite(x).any() else math.nan

    by_prompt: dict[str, set] = {}
    counts: dict[str, int] = {}
    for p in per:
        runs = tuple(w for i, w in enumerate(p["walk"]) if i == 0 or p["walk"][i - 1] != w)
        by_prompt.setdefault(p["prompt_id"], set()).add(runs)
        counts[p["prompt_id"]] = counts.get(p["prompt_id"], 0) + 1
    return {"H_mean": mean("H"), "H_low_share": mean("low"), "forking_share_ref": mean("fork"),
            "erank_window": mean("erank"), "erv": mean("erv"), "revisits_per_step": mean("rps"),
            "loop_exists_share": mean("loop"),
            "distinct_walk_share": float(np.mean([len(by_prompt[k]) / counts[k] for k in by_prompt]))}


def assert_metrics_match(measured: dict, expected: dict) -> None:
    for key, value in expected.items():
        if math.isnan(value):
            assert math.isnan(measured[key]), key
        else:
            assert measured[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


# ---------------------------------------------------------------------- tests
def test_a_measurement_equals_a_separate_score_of_its_samples(tiny):
    probe = ExplorationProbe(PROMPTS, **OPTIONS)
    m = probe.measure(tiny)
    assert list(m.metrics) == list(METRICS)
    assert m.metrics["n_samples"] == 9 and len(m.rows) == 9
    assert [r["id"] for r in m.rows[:3]] == ["0/s0", "0/s1", "0/s2"]
    expected = rescore(tiny, probe, m.rows)
    assert_metrics_match(m.metrics, expected)
    assert np.isfinite([expected[k] for k in ("H_mean", "erank_window", "erv", "revisits_per_step")]).all()
    # the first measurement's own tokens: 20% of them at or above its pooled threshold (ties aside)
    assert m.metrics["forking_share_ref"] == pytest.approx(0.2, abs=0.02)


@pytest.mark.parametrize("batch_size", [None, 4])
def test_scoring_in_the_sampling_pass_equals_a_teacher_forced_probe(tiny, batch_size):
    """The same samples (whatever the calls' sizes), the same reference, the same measures within 1e-6."""
    fused = ExplorationProbe(PROMPTS, batch_size=batch_size, **OPTIONS)
    forced = ExplorationProbe(PROMPTS, scoring="teacher_forced", **OPTIONS)
    a, b = fused.measure(tiny), forced.measure(tiny)
    assert [r["text"] for r in a.rows] == [r["text"] for r in b.rows]
    assert fused.forking_threshold_ == pytest.approx(forced.forking_threshold_, rel=1e-6)
    for key in METRICS:
        if key != "seconds":
            assert a.metrics[key] == pytest.approx(b.metrics[key], rel=1e-6, abs=1e-9, nan_ok=True), key
    assert [r.get("walk") for r in a.rows] == [r.get("walk") for r in b.rows]


def test_the_threshold_is_the_pooled_top_20_percent_of_the_first_measurement(tiny):
    from reasongraph.trace.extraction.teacher_forced import extract_batch

    probe = ExplorationProbe(PROMPTS, **OPTIONS)
    m = probe.measure(tiny)
    traces = extract_batch([r["text"] for r in m.rows], [PROMPTS[int(r["prompt_id"])] for r in m.rows], model=tiny,
                           layers=(0.9,), segment="window:6")
    pooled = np.sort(np.concatenate([t.entropy for t in traces]).astype(np.float64))[::-1]
    assert probe.forking_threshold_ == pooled[math.ceil(0.2 * pooled.size) - 1]


def test_same_seed_same_samples_and_the_reference_stays_fixed(tiny):
    probe = ExplorationProbe(PROMPTS, **OPTIONS)
    first = probe.measure(tiny)
    clusterer, threshold = probe.clusterer_, probe.forking_threshold_
    again = probe.measure(tiny)
    assert [r["text"] for r in again.rows] == [r["text"] for r in first.rows]
    assert probe.clusterer_ is clusterer and probe.forking_threshold_ == threshold
    assert {k: v for k, v in again.metrics.items() if k != "seconds"} == pytest.approx(
        {k: v for k, v in first.metrics.items() if k != "seconds"}, nan_ok=True)
    other = ExplorationProbe(PROMPTS, **{**OPTIONS, "seed": 4}).measure(tiny)
    assert [r["text"] for r in other.rows] != [r["text"] for r in first.rows]


def test_the_model_comes_back_untouched(tiny_dir):
    import torch

    import reasongraph as rg

    lm = rg.load_model(tiny_dir, device="cpu", dtype="float32")
    model = lm.model.requires_grad_(True).train()
    model.model.layers[0].eval()  # a frozen submodule: model.train() would flip it back
    ids = torch.tensor([lm.tokenizer("one two three four")["input_ids"]])
    model(input_ids=ids, labels=ids).loss.backward()
    flags = [m.training for m in model.modules()]
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    grads = {k: v.grad.clone() for k, v in model.named_parameters()}
    generation_config = model.generation_config
    rng = torch.get_rng_state()

    ExplorationProbe(PROMPTS, **OPTIONS).measure(model, lm.tokenizer)

    assert [m.training for m in model.modules()] == flags
    assert all(torch.equal(v, params[k]) for k, v in model.named_parameters())
    assert all(torch.equal(v.grad, grads[k]) for k, v in model.named_parameters())
    assert all(v.requires_grad for v in model.parameters())
    assert model.generation_config is generation_config
    assert torch.equal(torch.get_rng_state(), rng)


def test_probe_mode_sets_eval_inside_and_restores_each_flag(tiny_dir):
    import reasongraph as rg

    model = rg.load_model(tiny_dir, device="cpu", dtype="float32").model.train()
    model.lm_head.eval()
    with probe_mode(model):
        assert not any(m.training for m in model.modules())
    assert model.training and not model.lm_head.training and model.model.training


def test_accuracy_counts_reference_answers(tiny):
    probe = ExplorationProbe(PROMPTS, answers=[5, "five", "red"], **OPTIONS)
    m = probe.measure(tiny)
    answers = {"0": 5, "1": "five", "2": "red"}
    expected = np.mean([is_correct(r["text"], answers[r["prompt_id"]]) for r in m.rows])
    assert m.metrics["accuracy"] == expected
    assert all(r["correct"] == is_correct(r["text"], answers[r["prompt_id"]]) for r in m.rows)
    assert math.isnan(ExplorationProbe(PROMPTS, **OPTIONS).measure(tiny).metrics["accuracy"])


def test_answers_from_a_jsonl_field(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a", "prompt": "1 + 1?", "answer": 2, "gold": 2}\n\n'
                    '{"id": "b", "prompt": "Say hi", "answer": "hi"}\n')
    probe = ExplorationProbe(path, answer_field="answer")
    assert probe.answers_ == [2.0, "hi"]
    with pytest.raises(InputError, match=r"line 3 \(id 'b'\): no field 'gold'"):
        ExplorationProbe(path, answer_field="gold")


@pytest.mark.parametrize("text, answer, expected", [
    ("7 + 5 = 12", 12, True), ("7 + 5 = 12.", "12", True), ("The answer is 12.0", 12, True),
    ("12, no wait, 13", 12, False), ("It is 1,024.", 1024, True), ("x = -3", -3, True), ("none", 3, False),
    ("Paris is nice.\nThe capital is Paris", "paris", True), ("Paris\nno idea", "Paris", False),
])
def test_is_correct(text, answer, expected):
    assert is_correct(text, answer) is expected


@pytest.mark.parametrize("kwargs, message", [
    ({"prompts": []}, "no prompt"),
    ({"prompts": ["ok", " "]}, r"prompts\[1\]"),
    ({"samples": 0}, "samples must be"),
    ({"temperature": 0}, "temperature"),
    ({"window": 1}, "window must be"),
    ({"stride": 0}, "stride must be"),
    ({"k": 0}, "k must be"),
    ({"layer": 1.5}, "layer"),
    ({"segment": "words"}, "segment"),
    ({"answers": [1]}, "one answer per prompt"),
    ({"answers": [1, None]}, r"answers\[1\].*non-empty"),
    ({"answers": [1, 2], "answer_field": "a"}, "not both"),
    ({"answer_field": "a"}, "JSON Lines"),
    ({"scoring": "twice"}, "scoring"),
])
def test_bad_options_fail_before_any_model(kwargs, message):
    kwargs = {"prompts": ["What?", "Why?"], **kwargs}
    with pytest.raises(InputError, match=message):
        ExplorationProbe(kwargs.pop("prompts"), **kwargs)


def test_a_transformers_model_needs_its_tokenizer(tiny):
    with pytest.raises(InputError, match="tokenizer"):
        live_model(tiny.model)
    lm = live_model(tiny.model, tiny.tokenizer)
    assert lm.model is tiny.model and lm.tokenizer is tiny.tokenizer


def test_a_trainer_s_bf16_autocast_does_not_reach_the_probe(tiny_dir):
    """TRL trains under bfloat16 autocast by default; the probe measures the model in its own dtype, so a
    measurement taken inside the trainer's autocast equals one taken outside it (and the entropy head's check, which
    would see bf16 logits, passes)."""
    import torch

    import reasongraph as rg

    lm = rg.load_model(tiny_dir, device="cpu", dtype="float32")
    outside = ExplorationProbe(PROMPTS, **OPTIONS).measure(lm.model, lm.tokenizer)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        inside = ExplorationProbe(PROMPTS, **OPTIONS).measure(lm.model, lm.tokenizer)
        assert torch.is_autocast_enabled("cpu")  # the trainer's context is back after the probe
    assert [r["text"] for r in inside.rows] == [r["text"] for r in outside.rows]
    assert {k: v for k, v in inside.metrics.items() if k != "seconds"} == pytest.approx(
        {k: v for k, v in outside.metrics.items() if k != "seconds"}, nan_ok=True)


def test_accelerate_s_mixed_precision_forward_is_bypassed_while_probed_and_restored(tiny_dir):
    """Accelerate (under Trainer and TRL) wraps ``model.forward`` in bf16 autocast; the probe reads the model through
    the plain forward, gives what it gives unwrapped, and leaves the wrapped forward in place for training."""
    accelerate = pytest.importorskip("accelerate", reason="accelerate (the trl extra) is not installed")

    import reasongraph as rg

    lm = rg.load_model(tiny_dir, device="cpu", dtype="float32")
    plain = ExplorationProbe(PROMPTS, **OPTIONS).measure(lm.model, lm.tokenizer)
    # accelerate's state is process-wide: a trainer earlier in this process fixed its precision, and trainers
    # after this test choose their own
    accelerate.state.AcceleratorState._reset_state(reset_partial_state=True)
    try:
        model = accelerate.Accelerator(mixed_precision="bf16", cpu=True).prepare_model(lm.model)
        wrapped = model.forward
        assert "_original_forward" in model.__dict__  # accelerate's native autocast is on
        mixed = ExplorationProbe(PROMPTS, **OPTIONS).measure(model, lm.tokenizer)
    finally:
        accelerate.state.AcceleratorState._reset_state(reset_partial_state=True)
    assert model.forward == wrapped
    assert [r["text"] for r in mixed.rows] == [r["text"] for r in plain.rows]
    assert {k: v for k, v in mixed.metrics.items() if k != "seconds"} == pytest.approx(
        {k: v for k, v in plain.metrics.items() if k != "seconds"}, nan_ok=True)
