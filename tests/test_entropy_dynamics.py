"""Cui et al.'s covariance of ln pi(a_t) and the advantage, the GRPO advantages it uses, the entropy law's forecast
from the first third of a run, and both on a real probe of the tiny model."""
from __future__ import annotations

import math

import numpy as np
import pytest

from reasongraph.stats.entropy_dynamics import (entropy_changes, group_advantages, logprob_advantage_covariance,
                                                sample_covariance)
from reasongraph.stats.entropy_law import forecast_entropy_law


def test_group_advantages_normalize_within_prompts_and_count_flat_groups():
    adv, flat, groups = group_advantages([1, 0, 0, 1, 1, 1, 0, 0.5], ["p", "p", "p", "q", "q", "r", "s", "s"])
    p = np.array([1.0, 0, 0])
    assert adv[:3] == pytest.approx((p - p.mean()) / p.std(ddof=1))  # TRL: std with n - 1
    assert list(adv[3:6]) == [0.0, 0.0, 0.0]  # q's rewards do not vary; r is one sample
    assert adv[6:] == pytest.approx([-1 / math.sqrt(2), 1 / math.sqrt(2)])
    assert (flat, groups) == (2, 4)


def test_covariance_from_per_sample_sums_equals_the_per_token_covariance():
    rng = np.random.default_rng(0)
    lengths = [5, 1, 7, 3]
    logprobs = [rng.normal(-1, 1, n) for n in lengths]
    adv = np.array([0.5, -1.2, 0.3, 0.0])
    per_token_lp = np.concatenate(logprobs)
    per_token_adv = np.concatenate([[a] * n for a, n in zip(adv, lengths)])
    reference = np.mean((per_token_lp - per_token_lp.mean()) * (per_token_adv - per_token_adv.mean()))
    got = logprob_advantage_covariance([lp.sum() for lp in logprobs], lengths, adv)
    assert got == pytest.approx(reference, rel=1e-12)
    # confident tokens rewarded: positive covariance (entropy falls)
    assert logprob_advantage_covariance([-1.0, -10.0], [5, 5], [1.0, -1.0]) > 0


def test_sample_covariance_of_rows_and_without_answers():
    rows = [{"prompt_id": "a", "correct": True, "logprob_sum": -2.0, "n_logprob": 4},
            {"prompt_id": "a", "correct": False, "logprob_sum": -12.0, "n_logprob": 4},
            {"prompt_id": "b", "correct": True, "logprob_sum": -3.0, "n_logprob": 2},
            {"prompt_id": "b", "correct": True, "logprob_sum": -1.0, "n_logprob": 2}]
    out = sample_covariance(rows)
    adv = [1 / math.sqrt(2), -1 / math.sqrt(2), 0.0, 0.0]  # (1 - 0.5) / std([1, 0], ddof=1)
    assert out["cov_logp_adv"] == pytest.approx(logprob_advantage_covariance([-2, -12, -3, -1], [4, 4, 2, 2], adv))
    assert out["zero_adv_groups"] == 1 and out["n_adv_groups"] == 2
    assert all(math.isnan(v) for v in sample_covariance([{"prompt_id": "a", "correct": None}]).values())


def test_entropy_changes():
    assert entropy_changes([2.0, 1.5, 1.7])[:2] == pytest.approx([-0.5, 0.2])
    assert math.isnan(entropy_changes([2.0, 1.5, 1.7])[2])


def test_the_law_fit_on_the_first_third_recovers_a_and_b_and_forecasts_the_rest():
    a, b = 0.35, 0.9
    H = np.linspace(1.2, 0.1, 9)
    R = -a * np.exp(H) + b + np.random.default_rng(0).normal(0, 1e-4, 9)
    f = forecast_entropy_law(H, R, field="accuracy")
    assert f["n_fit"] == 3 and f["n"] == 9 and len(f["forecast"]) == 6
    assert f["a"] == pytest.approx(a, abs=0.01) and f["b"] == pytest.approx(b, abs=0.01)
    assert f["ceiling"] == pytest.approx(b - a, abs=0.01) and f["mae"] < 0.002
    # a run whose accuracy stops following the law after the first third: the forecast error shows it
    R[3:] = 0.2
    assert forecast_entropy_law(H, R)["mae"] > 0.1
    assert forecast_entropy_law(H[:5], R[:5]) is None  # fewer than 6 checkpoints
    assert forecast_entropy_law([1.0] * 3 + [0.5] * 3, [0.1] * 6) is None  # the fitted third has one entropy


def test_a_probe_reports_the_covariance_of_its_own_samples(tiny):
    from reasongraph.train.probe.probe import ExplorationProbe

    probe = ExplorationProbe(["What is 2 + 2?", "Name a color."], samples=3, max_new_tokens=12, answers=[4, "red"],
                             segment="window:4", window=4, stride=2)
    m = probe.measure(tiny)
    scored = [r for r in m.rows if r.get("scored")]
    assert scored and all(r["n_logprob"] > 0 for r in scored)
    assert m.metrics["n_adv_groups"] == 2
    expected = sample_covariance(m.rows)
    assert m.metrics["cov_logp_adv"] == pytest.approx(expected["cov_logp_adv"], nan_ok=True)
    # with all rewards equal, every group is flat and the covariance is 0
    if m.metrics["zero_adv_groups"] == 2:
        assert m.metrics["cov_logp_adv"] == 0.0
