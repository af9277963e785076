"""K of a scoring run (issue 21.1): the auto rule (n/3 of the fitted steps, at most 200), its reason in fit.json,
summary.json, the score table and the report, the warning when K exceeds a third of the fitted steps, and the
refusal to resume a folder started with a whole-number K under auto."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from reasongraph.cli.app import main as cli_main
from reasongraph.core.errors import InputError
from reasongraph.graph.cluster.options import ClusterOptions
from reasongraph.runs.scoring.k_choice import auto_k, k_warning, unit_ks
from reasongraph.runs.scoring.score import score_dataset

WORDS = "first we add the two numbers then check again wait maybe divide by three so the answer is".split()


# ---------------------------------------------------------------------- the rule (synthetic step counts)
@pytest.mark.parametrize("n, k", [(246, 82), (30, 10), (600, 200), (602, 200), (10_000, 200), (5, 2), (1, 1)])
def test_auto_k_is_a_third_of_the_fitted_steps_capped_at_200(n, k):
    assert auto_k(n)[0] == k


def test_auto_k_says_why():
    assert auto_k(246) == (82, "auto: n/3 of 246 fitted steps = 82")
    assert auto_k(900) == (200, "auto: capped at 200 (n/3 of 900 fitted steps = 300)")
    assert auto_k(5) == (2, "auto: n/3 of 5 fitted steps = 1, raised to 2")


def test_one_unit_small_and_large():
    ks, c = unit_ks({"m": 246}, {"m": 246}, "auto")
    assert ks == {"m": (82, "auto: n/3 of 246 fitted steps = 82")} and c is None
    ks, _ = unit_ks({"m": 50_000}, {"m": 50_000}, "auto")
    assert ks["m"][0] == 200
    # a fit sample bounds n: the rule reads the steps the clusterer is fitted on
    ks, _ = unit_ks({"m": 50_000}, {"m": 300}, "auto")
    assert ks["m"][0] == 100


def test_a_given_k_is_kept_and_lowered_to_the_fitted_steps():
    assert unit_ks({"m": 246}, {"m": 246}, 20)[0] == {"m": (20, "given")}
    assert unit_ks({"m": 21}, {"m": 21}, 200)[0] == {"m": (21, "given, lowered to the 21 fitted steps")}


def test_several_units_keep_the_largest_units_steps_per_cluster():
    """The group-proportional K: the unit with most steps gets K, the others K_g = round(n_g / c)."""
    ks, c = unit_ks({"base": 300, "rl": 120}, {"base": 300, "rl": 120}, "auto")
    assert (ks["base"][0], ks["rl"][0], c) == (100, 40, 3.0)
    assert ks["rl"][1].startswith("auto: in proportion to base (K = 100 for 300 steps)")
    ks, c = unit_ks({"base": 3000, "rl": 1200}, {"base": 3000, "rl": 1200}, "auto")
    assert (ks["base"][0], ks["rl"][0], c) == (200, 80, 15.0)
    ks, c = unit_ks({"base": 300, "rl": 120}, {"base": 300, "rl": 120}, 50)
    assert (ks["base"], ks["rl"][0], c) == ((50, "given"), 20, 6.0)
    assert ks["rl"][1] == "given: in proportion to base (K = 50 for 300 steps), 120 steps / 6"


def test_warning_above_a_third_only():
    assert k_warning("m", 82, 246) is None      # exactly a third
    assert k_warning("m", 83, 246).startswith("K = 83 for m exceeds a third of its 246 fitted steps")
    assert k_warning("m", 200, 246) is not None


@pytest.mark.parametrize("bad", [0, -3, "some", 2.5, True, None])
def test_bad_k_is_one_clear_error(bad):
    with pytest.raises(InputError, match="k must be a whole number >= 1 or auto"):
        ClusterOptions.checked(k=bad)


# ---------------------------------------------------------------------- a run with the tiny model
@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    rng = random.Random(3)
    path = tmp_path_factory.mktemp("kauto") / "in.jsonl"
    lines = [json.dumps({"id": f"r{i}", "trace": "\n".join(" ".join(rng.choice(WORDS) for _ in range(6))
                                                              for _ in range(rng.randint(8, 14)))})
             for i in range(6)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_auto_gives_a_third_of_the_steps_and_says_so(records, tiny, tmp_path):
    out = tmp_path / "auto"
    rows = score_dataset(records, out=out, model=tiny, progress=False, n_shifts=20)
    fit = json.loads((out / "fit.json").read_text())
    n = fit["units"][tiny.name]["n_fit_steps"]
    assert n == sum(r["n_steps"] for r in rows) and 48 <= n <= 84
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["k_option"], summary["k"]) == ("auto", n // 3)
    assert summary["k_rule"] == f"auto: n/3 of {n} fitted steps = {n // 3}"
    assert summary["notes"] == [] and fit["units"][tiny.name]["k_rule"] == summary["k_rule"]
    assert json.loads((out / "manifest.json").read_text())["options"]["k"] == "auto"  # the option as given


def test_a_large_given_k_is_warned_about_on_stderr_in_the_summary_table_and_report(records, tiny_dir, tmp_path,
                                                                                 capsys):
    out, report = tmp_path / "k40", tmp_path / "report.html"
    assert cli_main(["score", str(records), "--out", str(out), "--model", str(tiny_dir), "--k", "40",
                     "--n-shifts", "20", "--quiet", "--html", str(report)]) == 0
    captured = capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    n = summary["fit"]["units"][next(iter(summary["fit"]["units"]))]["n_fit_steps"]
    assert summary["k"] == 40 and summary["k_rule"] == "given"
    assert len(summary["notes"]) == 1 and summary["notes"][0].startswith(f"K = 40 for ")
    assert f"exceeds a third of its {n} fitted steps" in summary["notes"][0]
    assert [line for line in captured.err.splitlines() if "exceeds a third" in line] == [
        f"reasongraph score: {summary['notes'][0]}"]
    assert f"K = 40 for {tiny_dir.name} (given; {n} fitted steps)" in captured.out
    assert f"note: {summary['notes'][0]}" in captured.out
    html = report.read_text(encoding="utf-8")
    assert "40 (given)" in html and summary["notes"][0] in html


def test_a_folder_started_with_a_whole_number_k_is_not_resumed_under_auto(records, tiny, tmp_path):
    """A folder started with a whole-number K (k = 200 in every folder from before auto; 12 here): one clear
    error naming the K to pass, no work done."""
    out = tmp_path / "old"
    score_dataset(records, out=out, model=tiny, progress=False, n_shifts=20, k=12, limit=2)
    rows_before = (out / "rows.jsonl").read_bytes()
    with pytest.raises(InputError, match=r"started with K = 12 .*resume it with k=12"):
        score_dataset(records, out=out, model=tiny, progress=False, n_shifts=20, limit=2)
    assert (out / "rows.jsonl").read_bytes() == rows_before
    score_dataset(records, out=out, model=tiny, progress=False, n_shifts=20, k=12, limit=2)  # as it says: resumes
