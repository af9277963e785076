"""Each group scored by its own model (the faithful comparison of the seed question), end to end.

The two-model run scores 3 problems x 2 groups of short traces written here: group "base" with the default model
(SmolLM2-135M-Instruct, hidden width 576), group "rl" with the tiny random Llama (hidden width 64). Its rows must
be those of two single-model runs, one per group alone, except what is pooled over the whole run; each model gets
its own clusterer; a kill -9 in pass 1 resumes to the same rows. Then the bad inputs of the issue (all exit 2,
most before any work), a comparison on one pair (NaN with the reason), and the HTML collapse figure of a real run
in headless Chromium.
"""
from __future__ import annotations

import json
import math
import random
import signal
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from reasongraph.cli.app import main as cli_main
from reasongraph.runs.scoring.score import score_dataset

from conftest import wait_for

REPO = Path(__file__).resolve().parents[1]
WORDS = ("so the sum is seven wait let me check again we factor the quadratic then divide both sides by three "
         "hmm actually the root is two and the answer follows").split()
N_PROBLEMS = 3
OPTS = dict(prompt_field="problem", group_field="model", pair_field="pair_key", k=8, n_shifts=200)
CLI_OPTS = ["--prompt-field", "problem", "--group-by", "model", "--pair-key", "pair_key", "--k", "8",
            "--n-shifts", "200", "--quiet"]
SMOLLM2 = "SmolLM2-135M-Instruct"
TINY = "tiny-random-llama-0"
# Fields that legitimately differ between a two-model run and a run of one group alone: the input line, and the
# forking shares against thresholds pooled over every group of the run (checked separately below).
POOLED = {"line", "forking_share_pooled", "forking_share_by_group"}


def _trace(rng: random.Random, n_lines: int) -> str:
    return "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14))) for _ in range(n_lines))


def _records(groups: tuple[str, ...] = ("rl", "base"), n: int = N_PROBLEMS) -> list[dict]:
    """n problems x the groups, "rl" first in each pair (so its model loads first) and with longer traces (more
    steps, hence the larger K), as an RL-trained model's would be; each trace has over 128 tokens (a window)."""
    rng = random.Random(0)
    out = []
    for p in range(n):
        for g in groups:
            out.append({"id": f"{g}-{p}", "problem": f"Problem {p}: solve for x.", "model": g, "pair_key": f"q{p}",
                        "trace": _trace(rng, 18 if g == "rl" else 12)})
    return out


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory, smollm2, tiny):
    """The two-model run, then each group alone with its model and the K its unit got in the two-model run."""
    root = tmp_path_factory.mktemp("two_models")
    records = _records()
    both = _write(root / "both.jsonl", records)
    out = root / "both"
    rows = score_dataset(both, model={"base": smollm2, "rl": tiny}, out=out, progress=False, **OPTS)
    fit = json.loads((out / "fit.json").read_text())
    alone = {}
    for group, lm in (("base", smollm2), ("rl", tiny)):
        path = _write(root / f"{group}.jsonl", [r for r in records if r["model"] == group])
        k = fit["units"][lm.name]["k"]
        alone[group] = score_dataset(path, model=lm, out=root / group, progress=False, **{**OPTS, "k": k})
    return {"root": root, "input": both, "out": out, "rows": rows, "fit": fit, "alone": alone}


@pytest.mark.model
def test_rows_of_each_group_equal_a_run_of_that_group_alone(runs):
    by_id = {r["id"]: r for r in runs["rows"]}
    assert len(by_id) == 2 * N_PROBLEMS
    for group, rows in runs["alone"].items():
        assert len(rows) == N_PROBLEMS
        for single in rows:
            two = by_id[single["id"]]
            assert {k: v for k, v in two.items() if k not in POOLED} == \
                {k: v for k, v in single.items() if k not in POOLED}, single["id"]
            # the group's own pooled threshold is the same tokens in both runs; alone, it is also the run-wide one
            assert two["forking_share_by_group"][group] == single["forking_share_by_group"][group]
            assert single["forking_share_pooled"] == single["forking_share_by_group"][group]
            assert set(two["forking_share_by_group"]) == {"base", "rl"}
    assert all(math.isfinite(r["erank_window"]) for r in runs["rows"])  # every trace has a 128-token window
    # Run-wide, the tiny model's near-uniform entropies (~10.8 nats) fill the whole top 20% of the pooled tokens:
    # SmolLM2's traces get none, the tiny model's the k = ceil(0.2 n) highest of all n tokens (and any float32 tie
    # with the k-th). A threshold pooled over two models means nothing; a comparison reads the per-group ones.
    n = sum(r["n_tokens"] for r in runs["rows"])
    top = round(sum(r["forking_share_pooled"] * r["n_tokens"] for r in runs["rows"] if r["group"] == "rl"))
    assert all(r["forking_share_pooled"] == 0.0 for r in runs["rows"] if r["group"] == "base")
    assert runs["fit"]["n_entropy_tokens"] == n and math.ceil(0.2 * n) <= top <= math.ceil(0.2 * n) + 2


@pytest.mark.model
def test_scored_by_and_the_mode_say_which_model_scored_which_group(runs):
    assert {(r["group"], r["scored_by"]) for r in runs["rows"]} == {("base", SMOLLM2), ("rl", TINY)}
    summary = json.loads((runs["out"] / "summary.json").read_text())
    assert summary["mode"] == "faithful" and summary["scored_by"] == {"rl": TINY, "base": SMOLLM2}
    assert summary["n_rows"] == 2 * N_PROBLEMS and summary["complete"]
    alone = json.loads((runs["root"] / "base" / "summary.json").read_text())
    assert alone["mode"] == f"proxy: all groups scored by {SMOLLM2}"


@pytest.mark.model
def test_one_clusterer_per_model_with_the_same_steps_per_cluster(runs):
    from reasongraph.graph.cluster.estimator import load_clusterer

    fit, out = runs["fit"], runs["out"]
    units = fit["units"]
    assert set(units) == {SMOLLM2, TINY}
    files = {u["clusterer_file"] for u in units.values()}
    assert len(files) == 2 and not (out / "clusterer.npz").exists()
    width = {name: load_clusterer(out / u["clusterer_file"]).n_features_in_ for name, u in units.items()}
    assert width == {SMOLLM2: 576, TINY: 64}  # hidden states of the two models never meet in one clustering
    steps = {g: sum(r["n_steps"] for r in runs["rows"] if r["scored_by"] == g) for g in units}
    assert {g: u["n_steps"] for g, u in units.items()} == steps and steps[TINY] > steps[SMOLLM2]
    # K_g = round(n_steps_g / c), c = (steps of the largest unit) / k: the larger unit gets k = 8
    c = steps[TINY] / 8
    assert fit["steps_per_cluster"] == pytest.approx(c)
    assert units[TINY]["k"] == 8 and units[SMOLLM2]["k"] == round(steps[SMOLLM2] / c) < 8
    for r in runs["rows"]:  # every row's graph lives in its own model's clustering
        assert r["n_nodes"] <= units[r["scored_by"]]["k"]


@pytest.mark.model
def test_resume_after_sigkill_in_pass_1_gives_identical_rows(runs, smollm2, tiny, tiny_dir):
    """kill -9 once the first model's traces are being cached, while the second (SmolLM2) loads or extracts."""
    out = runs["root"] / "killed"
    cmd = [sys.executable, "-m", "reasongraph", "score", str(runs["input"]), "--out", str(out),
           "--model", f"rl={tiny_dir}", "--model", "base=smollm2-135m", *CLI_OPTS]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    def cached() -> bool:
        return (out / "traces").is_dir() and any((out / "traces").rglob("*.npz"))

    assert wait_for(cached, proc), "pass 1 never cached a trace"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "fit.json").exists(), "the kill was meant to land in pass 1"
    assert not (out / "rows.jsonl").exists() or (out / "rows.jsonl").read_bytes() == b""

    score_dataset(runs["input"], model={"base": smollm2, "rl": tiny}, out=out, progress=False, **OPTS)
    assert (out / "rows.jsonl").read_bytes() == (runs["out"] / "rows.jsonl").read_bytes()
    assert json.loads((out / "fit.json").read_text()) == runs["fit"]


# ---------------------------------------------------------------------- tiny random models only
@pytest.fixture(scope="module")
def small_input(tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("bad") / "in.jsonl", _records())


def _observe_loads(monkeypatch) -> list[list[bool]]:
    """Each model load from now on appends, before it loads, whether each model loaded before is still alive."""
    import gc
    import weakref

    from reasongraph.runs.scoring.model_plan import ModelPlan

    real_load, loaded, alive_at_load = ModelPlan.load, [], []

    def observed_load(self, name):
        gc.collect()
        alive_at_load.append([ref() is not None for ref in loaded])
        lm = real_load(self, name)
        loaded.append(weakref.ref(lm.model))
        return lm

    monkeypatch.setattr(ModelPlan, "load", observed_load)
    return alive_at_load


def test_the_first_model_is_freed_before_the_second_loads(small_input, tmp_path, monkeypatch):
    """Models given by name load one at a time: when the second loads, nothing holds the first any more (so two
    large models are never in memory together; benchmarks/bench_models.py measures the peak RSS)."""
    alive_at_load = _observe_loads(monkeypatch)
    rows = score_dataset(small_input, model={"rl": "tiny-random-0", "base": "tiny-random-1"}, out=tmp_path / "run",
                         progress=False, **OPTS)
    assert alive_at_load == [[], [False]] and len(rows) == 2 * N_PROBLEMS


def test_models_reloaded_in_pass_2_are_held_one_at_a_time(small_input, tmp_path, monkeypatch):
    """A trace gone from the cache when pass 2 needs it is extracted again by its model; with traces of both models
    gone, each reload frees the other model first, so two models are never in memory together there either."""
    from reasongraph.runs.engines.local import LocalEngine

    alive_at_load = _observe_loads(monkeypatch)
    real_pass2 = LocalEngine.pass2

    def pass2_with_the_cache_lost(self, state, *args, **kwargs):
        monkeypatch.setattr(type(state), "read_trace", lambda *a, **k: None)
        return real_pass2(self, state, *args, **kwargs)

    monkeypatch.setattr(LocalEngine, "pass2", pass2_with_the_cache_lost)
    rows = score_dataset(small_input, model={"rl": "tiny-random-0", "base": "tiny-random-1"}, out=tmp_path / "run",
                         progress=False, **OPTS)
    assert len(rows) == 2 * N_PROBLEMS and len(alive_at_load) > 2  # pass 2 reloaded models
    assert not any(any(alive) for alive in alive_at_load)


def _cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = cli_main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_unknown_group_in_the_model_map_exits_2_before_any_work(small_input, tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = _cli(["score", str(small_input), "--out", str(out), "--model", "base=tiny-random",
                         "--model", "rlhf=tiny-random-1", *CLI_OPTS], capsys)
    assert code == 2 and not out.exists()
    assert "--model names the group 'rlhf', which the data does not have; its groups are 'rl', 'base'" in err


def test_group_without_a_model_exits_2_before_any_work(small_input, tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = _cli(["score", str(small_input), "--out", str(out), "--model", "base=tiny-random", *CLI_OPTS],
                        capsys)
    assert code == 2 and not out.exists()
    assert "--model gives no model for the group 'rl'" in err


@pytest.mark.parametrize("first", [True, False])
def test_a_model_that_cannot_load_exits_2_naming_its_group(small_input, tmp_path, capsys, first):
    """Every model of a run is checked before any work: the run folder is not even created."""
    out, missing = tmp_path / "run", tmp_path / "no-such-model"
    bad, good = (("rl", "base") if first else ("base", "rl"))
    code, _, err = _cli(["score", str(small_input), "--out", str(out), "--model", f"{bad}={missing}",
                         "--model", f"{good}=tiny-random", *CLI_OPTS], capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"--model {missing} (the model of '{bad}') cannot be loaded" in err and "no such path" in err
    assert not out.exists()


def test_compare_on_one_pair_gives_nan_with_the_reason(tmp_path, capsys):
    """Two tiny models of different seeds (a faithful run, at no cost) on a single problem."""
    path = _write(tmp_path / "one.jsonl", _records(n=1))
    out = tmp_path / "run"
    code, _, _ = _cli(["score", str(path), "--out", str(out), "--model", "base=tiny-random-0", "--model",
                       "rl=tiny-random-1", *CLI_OPTS], capsys)
    assert code == 0
    code, text, err = _cli(["compare", str(out), "--a", "base", "--b", "rl"], capsys)
    assert code == 0 and err == ""
    assert text.startswith("where entropy collapses: rl (B) vs base (A), 1 pairs; faithful")
    at = text.index("\nrl (B) vs base (A): 1 pairs")
    collapse_part, metrics_part = text[:at], text[at:]
    measure_lines = [ln for ln in collapse_part.splitlines() if ln.startswith(("token   ", "hidden  "))]
    assert len(measure_lines) == 14 and all(ln.endswith("n/a  [n/a, n/a]           n/a  fewer than 2 pairs")
                                            for ln in measure_lines)  # 4 token, 10 hidden (no sample group)
    assert "token - hidden collapse (erank):                          n/a [n/a, n/a]  sign-flip p = n/a" in \
        collapse_part
    metric_lines = [ln for ln in metrics_part.splitlines() if ln.split() and ln.split()[0] == "mean_entropy"]
    assert len(metric_lines) == 1 and "[n/a, n/a]" in metric_lines[0] and metric_lines[0].endswith(
        "fewer than 2 pairs")

    code, text, _ = _cli(["compare", str(out), "--a", "base", "--b", "rl", "--json"], capsys)
    result = json.loads(text)  # NaN is written as NaN, which json reads back
    assert code == 0 and result["collapse"]["n_pairs"] == 1 and result["mode"] == "faithful"
    for row in result["collapse"]["rows"]:
        assert row["n"] == 1 and math.isnan(row["ratio"]) and math.isnan(row["p"])
        assert row["note"] == "fewer than 2 pairs"
    assert all(math.isnan(v) for k in ("difference_erank", "difference_spread")
               for v in result["collapse"]["summary"][k].values())
    ent = result["metrics"]["mean_entropy"]
    assert ent["n"] == 1 and math.isnan(ent["ci_low"]) and math.isnan(ent["p_value"])
    assert ent["note"] == "fewer than 2 pairs" and np.isfinite(ent["diff"])


# ---------------------------------------------------------------------- the report of a real run, in Chromium
@pytest.mark.model
@pytest.mark.browser
def test_compare_html_collapse_figure_in_chromium(runs, tmp_path, capsys):
    from test_html_browser import ARGS, CHROMIUM, SHOTS, Opened

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
    report = tmp_path / "report.html"
    code, text, _ = _cli(["compare", str(runs["out"]), "--a", "base", "--b", "rl", "--html", str(report),
                          "--json"], capsys)
    assert code == 0
    collapse = json.loads(text)["collapse"]
    drawable = [r["key"] for r in collapse["rows"] if isinstance(r["ratio"], float) and r["ratio"] > 0]
    assert "mean_entropy" in drawable and "erank_window" in drawable
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        o = Opened(browser, report.as_uri())
        page = o.page
        # the figure is the report's first section, and all of it is inside the page's width
        assert page.evaluate("document.querySelector('.rg-root section').className") == \
            "rg-panel rg-collapse-panel"
        box = page.locator(".rg-collapse").bounding_box()
        assert box["width"] > 500 and box["height"] > 200 and box["x"] >= 0 and box["x"] + box["width"] <= 1440
        heads = page.eval_on_selector_all(".rg-cl-head", "els => els.map(e => e.textContent)")
        assert heads == ["Token level", "Hidden-state level"]
        keys = page.eval_on_selector_all(".rg-cl-row", "els => els.map(e => e.dataset.key)")
        assert keys == [r["key"] for r in collapse["rows"]]
        dots = page.eval_on_selector_all(".rg-cl-dot", "els => els.map(e => e.closest('.rg-cl-row').dataset.key)")
        assert sorted(dots) == sorted(drawable)
        # readable: every label and value is drawn in full (no ellipsis), at a legible size, without overlaps
        labels = page.eval_on_selector_all(".rg-cl-row .rg-group-label", "els => els.map(e => e.textContent)")
        assert labels == [r["label"] for r in collapse["rows"]]
        left = page.eval_on_selector(".rg-collapse", "e => e.getBoundingClientRect().left")
        lefts = page.eval_on_selector_all(".rg-cl-row .rg-group-label", "els => els.map(e => "
                                          "e.getBoundingClientRect().left)")
        assert min(lefts) >= left  # no label runs off the figure's left edge
        sizes = page.eval_on_selector_all(".rg-cl-row text", "els => els.map(e => parseFloat(getComputedStyle(e)"
                                          ".fontSize))")
        assert min(sizes) >= 10
        boxes = page.eval_on_selector_all(".rg-cl-row .rg-group-label", "els => els.map(e => { const b = "
                                          "e.getBoundingClientRect(); return [b.top, b.bottom]; })")
        assert all(b[1] <= c[0] + 0.5 for b, c in pairwise(boxes))
        ratio = {r["key"]: r["ratio"] for r in collapse["rows"]}
        value = page.locator('.rg-cl-row[data-key="mean_entropy"] .rg-cl-value').text_content()
        assert value.startswith(page.evaluate(f"ReasonGraph._common.fmt({ratio['mean_entropy']!r})"))
        assert page.locator(".rg-cl-mode").inner_text() == "mode: faithful"
        assert page.locator(".rg-cl-proxy").count() == 0
        assert "Token-level collapse" in page.locator(".rg-cl-summary").inner_text()
        page.locator(".rg-collapse-panel").screenshot(path=str(SHOTS / "two_models_collapse.png"))
        o.assert_clean()
        o.close()
        browser.close()
