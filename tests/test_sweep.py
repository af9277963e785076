"""The checkpoint sweep: three saved tiny checkpoints, the entropy-law fit, bad input, the CLI and the report page.

The checkpoints are the tiny random model with its final norm scaled up (sharper logits, so lower entropy at
later "steps"), saved the way the HF Trainer saves them (config, safetensors, tokenizer, trainer_state.json with
a log history). The entropy-law fit is checked against data generated with known a and b, and its intervals
against scipy.stats.linregress (an independent least-squares fit with standard errors).
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from reasongraph.core.errors import InputError
from reasongraph.train.probe.probe import ExplorationProbe
from reasongraph.train.checkpoints import find_checkpoints, read_rewards
from reasongraph.stats.entropy_law import fit_entropy_law
from reasongraph.train.sweep import sweep

PROBE = dict(samples=2, max_new_tokens=32, segment="window:6", window=12, stride=6, answer_field="answer")
STEPS = {0: 1.0, 5: 2.5, 10: 6.0}  # step -> scale of the final norm
LOGGED = [(1, 0.1), (3, 0.3), (5, 0.2), (7, 0.6), (10, 0.7)]  # (step, reward) in trainer_state.json


def _save(folder: Path, scale: float, step: int | None, tokenizer, hidden_size: int = 64) -> Path:
    import torch

    import reasongraph as rg

    model = rg.tiny_random_model(seed=0, hidden_size=hidden_size, tokenizer=tokenizer).model
    with torch.no_grad():
        model.model.norm.weight.mul_(scale)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if step is not None:
        history = [{"step": s, "reward": r, "loss": 0.5} for s, r in LOGGED if s <= step]
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": history}))
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny):
    """A run folder with checkpoint-0, -5 and -10, and a probe file with reference answers."""
    root = tmp_path_factory.mktemp("run")
    for step, scale in STEPS.items():
        _save(root / "checkpoints" / f"checkpoint-{step}", scale, step, tiny.tokenizer)
    prompts = root / "probes.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"What is {i} + 1?", "answer": i + 1}) + "\n"
                               for i in range(3)))
    return root


@pytest.fixture(scope="module")
def swept(run):
    ck = run / "checkpoints"
    # given out of order, one of them twice (as a folder and inside its run folder)
    return sweep([ck / "checkpoint-10", ck], run / "probes.jsonl", out=run / "out", reward_field="reward",
                 n_boot=300, **PROBE)


def test_rows_are_in_step_order_and_equal_a_probe_of_each_checkpoint(run, swept):
    import reasongraph as rg

    assert [r["step"] for r in swept.rows] == [0, 5, 10]
    assert [r["checkpoint"] for r in swept.rows] == ["checkpoint-0", "checkpoint-5", "checkpoint-10"]
    probe = ExplorationProbe(run / "probes.jsonl", **PROBE)
    for row in swept.rows:
        m = probe.measure(rg.load_model(row["path"], device="cpu", dtype="float32"))
        for key, value in m.metrics.items():
            if key != "seconds":
                assert row[key] == pytest.approx(value, nan_ok=True), (row["checkpoint"], key)
    # sharper logits at later checkpoints: token entropy falls
    h = [r["H_mean"] for r in swept.rows]
    assert h[0] > h[1] > h[2]


def test_reward_is_the_mean_logged_since_the_previous_checkpoint(swept):
    rewards = [r["reward"] for r in swept.rows]
    assert math.isnan(rewards[0])  # nothing logged up to step 0
    assert rewards[1:] == pytest.approx([(0.1 + 0.3 + 0.2) / 3, (0.6 + 0.7) / 2])


def test_collapse_columns_equal_the_collapse_table_against_the_first(swept):
    from reasongraph.analysis.groups.level_collapse import collapse_table

    scored = [s for s in swept.samples if s.get("scored")]
    for row in swept.rows[1:]:
        table = collapse_table(scored, "checkpoint-0", row["checkpoint"], group_field="checkpoint",
                               pair_field="prompt_id", n_boot=300)
        assert row["token_collapse"] == pytest.approx(table.token_collapse["value"])
        assert row["hidden_collapse_erank_ci_low"] == pytest.approx(table.hidden_collapse_erank["ci_low"])
        h0 = np.mean([np.mean([s["mean_entropy"] for s in scored if s["checkpoint"] == "checkpoint-0"
                               and s["prompt_id"] == q]) for q in ("q0", "q1", "q2")])
        h = np.mean([np.mean([s["mean_entropy"] for s in scored if s["checkpoint"] == row["checkpoint"]
                              and s["prompt_id"] == q]) for q in ("q0", "q1", "q2")])
        assert row["token_collapse"] == pytest.approx(1 - h / h0)
    assert swept.rows[0]["token_collapse"] == 0.0
    assert swept.collapse["b"] == "checkpoint-10" and swept.collapse["a"] == "checkpoint-0"


def test_files_and_laws(run, swept):
    out = run / "out"
    lines = (out / "sweep.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [0, 5, 10]
    assert len((out / "samples.jsonl").read_text().splitlines()) == 3 * 3 * 2
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["laws"]) == set(swept.laws) == {"accuracy", "reward"}
    assert swept.laws["accuracy"].n == 3
    # the reward is logged after step 0 only: two checkpoints give a and b, and no interval
    assert swept.laws["reward"].n == 2 and math.isnan(swept.laws["reward"].ceiling_ci[0])
    html = (out / "report.html").read_text()
    assert '"kind":"sweep"' in html and "renderSweep" in html
    assert "<link" not in html and " src=" not in html  # everything inline
    again = swept.save(run / "out-again")  # SweepResult.save writes the same files, byte for byte
    for name in ("sweep.jsonl", "samples.jsonl", "summary.json"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    assert '"kind":"sweep"' in (again / "report.html").read_text()


def test_covariance_and_entropy_change_beside_it(run, swept):
    from reasongraph.stats.entropy_dynamics import sample_covariance

    h = [r["H_mean"] for r in swept.rows]
    assert [r["H_change_next"] for r in swept.rows[:2]] == pytest.approx([h[1] - h[0], h[2] - h[1]])
    assert math.isnan(swept.rows[2]["H_change_next"])
    for row in swept.rows:  # each checkpoint's covariance is that of its own samples
        samples = [s for s in swept.samples if s["checkpoint"] == row["checkpoint"]]
        assert row["cov_logp_adv"] == pytest.approx(sample_covariance(samples)["cov_logp_adv"], nan_ok=True)
        assert row["n_adv_groups"] == 3
    summary = json.loads((run / "out" / "summary.json").read_text())
    assert summary["law_forecasts"] == {}  # 3 checkpoints: too few to forecast from a third


def test_six_checkpoints_forecast_the_law_from_the_first_two(tmp_path, tiny):
    from reasongraph.stats.entropy_law import forecast_entropy_law

    for step in range(6):
        _save(tmp_path / f"checkpoint-{step}", 1.0 + step, step, tiny.tokenizer)
    result = sweep([tmp_path], ["What is 1 + 1?"], samples=2, max_new_tokens=8, segment="window:4", window=4,
                   stride=2, n_boot=50, answers=[2])
    forecast = result.forecasts["accuracy"]
    assert forecast["n"] == 6 and forecast["n_fit"] == 2 and len(forecast["forecast"]) == 4
    assert forecast == forecast_entropy_law([r["H_mean"] for r in result.rows], [r["accuracy"] for r in result.rows],
                                            field="accuracy")


# ---------------------------------------------------------------------- the entropy law
def test_entropy_law_recovers_known_a_and_b():
    H = np.linspace(0.2, 1.6, 12)
    law = fit_entropy_law(H, -0.15 * np.exp(H) + 0.9)
    assert (law.a, law.b, law.ceiling) == pytest.approx((0.15, 0.9, 0.75))
    assert law.r2 == pytest.approx(1.0)
    assert law.ceiling_ci == pytest.approx((0.75, 0.75))


def test_entropy_law_intervals_match_linregress_and_cover():
    from scipy.stats import linregress, t

    rng = np.random.default_rng(0)
    H = np.linspace(0.1, 1.5, 10)
    a, b = 0.2, 0.95
    R = -a * np.exp(H) + b + rng.normal(0, 0.02, H.size)
    law = fit_entropy_law(H, R)
    ref = linregress(-np.exp(H), R)
    q = t.ppf(0.975, H.size - 2)
    assert (law.a, law.b) == pytest.approx((ref.slope, ref.intercept))
    assert law.a_ci == pytest.approx((ref.slope - q * ref.stderr, ref.slope + q * ref.stderr))
    assert law.b_ci == pytest.approx((ref.intercept - q * ref.intercept_stderr,
                                      ref.intercept + q * ref.intercept_stderr))
    # the ceiling's interval covers the true b - a in about 95% of repeated experiments
    covered = 0
    for _ in range(400):
        R = -a * np.exp(H) + b + rng.normal(0, 0.02, H.size)
        lo, hi = fit_entropy_law(H, R).ceiling_ci
        covered += lo <= b - a <= hi
    assert 0.92 <= covered / 400 <= 0.98


def test_entropy_law_needs_two_distinct_entropies():
    with pytest.raises(ValueError, match="two distinct"):
        fit_entropy_law([0.5, 0.5, math.nan], [0.1, 0.2, 0.3])
    law = fit_entropy_law([0.5, 0.7], [0.4, 0.3])
    assert math.isnan(law.a_ci[0]) and law.n == 2


# ---------------------------------------------------------------------- bad input, before any model loads
def test_a_folder_that_is_not_a_model(run, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a model"):
        sweep([run / "checkpoints", tmp_path / "empty"], run / "probes.jsonl", out=tmp_path / "out")
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text("{}")
    (pickled / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(InputError, match="no .safetensors weights.*pickled"):
        find_checkpoints([pickled])
    with pytest.raises(InputError, match="no such folder"):
        find_checkpoints([tmp_path / "missing"])
    assert not (tmp_path / "out").exists()


def test_checkpoints_of_different_architectures(run, tmp_path, tiny):
    small = _save(tmp_path / "checkpoint-20", 1.0, 20, tiny.tokenizer, hidden_size=32)
    with pytest.raises(InputError, match="different architectures in one sweep: hidden_size is 64 in .* but 32 in"):
        sweep([run / "checkpoints", small], run / "probes.jsonl", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_checkpoint_without_a_step(run, tmp_path, tiny):
    final = _save(tmp_path / "final", 1.0, None, tiny.tokenizer)
    with pytest.raises(InputError, match="training step is unknown"):
        find_checkpoints([final])


def test_a_probe_set_with_no_prompts(run, tmp_path):
    empty = tmp_path / "probes.jsonl"
    empty.write_text("")
    with pytest.raises(InputError, match="no prompt"):
        sweep([run / "checkpoints"], empty, out=tmp_path / "out")
    with pytest.raises(InputError, match="no prompt"):
        sweep([run / "checkpoints"], [], out=tmp_path / "out")


def test_a_reward_field_that_is_not_numeric(run, tmp_path, tiny):
    folder = _save(tmp_path / "checkpoint-3", 1.0, 3, tiny.tokenizer)
    (folder / "trainer_state.json").write_text(json.dumps(
        {"global_step": 3, "log_history": [{"step": 1, "reward": 0.5}, {"step": 2, "reward": "high"}]}))
    with pytest.raises(InputError, match="reward_field=reward must be numeric.*step 2 holds 'high'"):
        sweep([folder], run / "probes.jsonl", reward_field="reward", out=tmp_path / "out")
    with pytest.raises(InputError, match="no log entry .* holds reward_field=score; logged fields: loss, reward"):
        read_rewards(find_checkpoints([run / "checkpoints"]), "score")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------- the command line
def test_cli_sweep(run, tmp_path, capsys):
    from reasongraph.cli.app import main

    code = main(["sweep", str(run / "checkpoints"), "--prompts", str(run / "probes.jsonl"), "--out",
                 str(tmp_path / "cli"), "--answer-field", "answer", "--reward-field", "reward", "--samples", "2",
                 "--max-new-tokens", "32", "--segment", "window:6", "--window", "12", "--stride", "6",
                 "--n-boot", "200", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "checkpoint-10" in out and "entropy law accuracy" in out
    rows = [json.loads(x) for x in (tmp_path / "cli" / "sweep.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 5, 10]


def test_cli_bad_input_is_one_line_in_flags(run, tmp_path, capsys):
    from reasongraph.cli.app import main

    code = main(["sweep", str(run / "checkpoints"), "--prompts", str(run / "probes.jsonl"), "--out",
                 str(tmp_path / "cli"), "--reward-field", "score"])
    err = capsys.readouterr().err
    assert code == 2
    assert "error: no log entry" in err and "--reward-field score" in err and "Traceback" not in err
    code = main(["sweep", str(run / "checkpoints"), "--prompts", str(run / "probes.jsonl"), "--out",
                 str(tmp_path / "cli"), "--samples", "0"])
    assert code == 2 and "--samples must be" in capsys.readouterr().err


# ---------------------------------------------------------------------- the report page in a browser
def _synthetic_rows(names: list[str]) -> list[dict]:
    rows = []
    for i, name in enumerate(names):
        rows.append({"checkpoint": name, "step": 5 * i, "H_mean": 2.0 - 0.4 * i, "H_low_share": 0.1 * i,
                     "erank_window": 14.0 - 0.3 * i, "revisits_per_step": 0.05 + 0.01 * i, "accuracy": 0.2 + 0.1 * i,
                     "distinct_walk_share": 1.0, "reward": math.nan if i == 0 else 0.3 * i,
                     "token_collapse": 0.2 * i, "token_collapse_ci_low": 0.2 * i - 0.05 if i else math.nan,
                     "token_collapse_ci_high": 0.2 * i + 0.05 if i else math.nan, "hidden_collapse_erank": 0.02 * i,
                     "hidden_collapse_erank_ci_low": math.nan, "hidden_collapse_erank_ci_high": math.nan,
                     "seconds": 3.0})
    return rows


@pytest.mark.browser
def test_sweep_page_in_a_browser(tmp_path):
    from test_html_browser import ARGS, CHROMIUM, Opened

    from reasongraph.html.sweep_view import write_sweep_html
    from reasongraph.stats.entropy_law import fit_entropy_law

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
    evil = "<img src=x onerror=window.__pwned=1>"
    rows = _synthetic_rows(["checkpoint-0", evil, "checkpoint-10", "checkpoint-15"])
    law = fit_entropy_law([r["H_mean"] for r in rows], [r["accuracy"] for r in rows], field="accuracy").as_dict()
    path = write_sweep_html(rows, tmp_path / "sweep.html", laws={"accuracy": law},
                            options={"reward_field": "reward", "probe": {"n_prompts": 4, "samples": 4}},
                            title=f"run {evil}")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        o = Opened(browser, path.as_uri())
        o.assert_clean()
        page = o.page
        assert page.title().startswith("run <img")
        keys = page.eval_on_selector_all(".rg-ck-chart", "els => els.map(e => e.dataset.key)")
        assert keys == ["H_mean", "H_low_share", "erank_window", "revisits_per_step", "distinct_walk_share",
                        "accuracy", "reward", "token_collapse,hidden_collapse_erank"]
        # one shared x-axis: the dots of one checkpoint line up across every chart
        xs = page.eval_on_selector_all(".rg-ck-series[data-series=H_mean] .rg-sw-dot, "
                                       ".rg-ck-series[data-series=accuracy] .rg-sw-dot",
                                       "els => els.map(e => +e.getAttribute('cx'))")
        assert xs[:4] == xs[4:] and xs[:4] == sorted(xs[:4])
        assert o.count(".rg-ck-series[data-series=reward] .rg-sw-dot") == 3  # step 0 has no reward
        assert o.count(".rg-ck-law-plot .rg-ck-point") == 4 and o.count(".rg-ck-fit") == 1
        assert "ceiling b \u2212 a" in page.inner_text(".rg-ck-law-fit")
        cells = page.eval_on_selector_all(".rg-ck-table td:first-child", "els => els.map(e => e.textContent)")
        assert cells[1] == evil  # text, not markup
        page.screenshot(path=str(tmp_path / "sweep.png"), full_page=True)
        o.close()
        browser.close()
