"""The hidden rows of the level-collapse table: per-prompt spread rows paired by problem, both named hidden
collapses and their differences, the control's range, the near-saturated flag; and the path of the prefix hidden
states through a scoring run (the lean trace, its cache key, diversity.jsonl, compare --control), on the tiny
model."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from reasongraph.analysis.groups.level_collapse import collapse_table
from reasongraph.analysis.groups.comparison import compare_groups
from reasongraph.core.errors import InputError
from reasongraph.trace.trace import PREFIX_TOKENS, Trace

H = {"base": [2.0, 1.0, 1.5], "rl": [0.5, 0.4, 0.6], "cold": [0.2, 0.2, 0.3]}  # mean_entropy per pair p0..p2
SPREAD = {"base": [0.06, 0.04, 0.05], "rl": [0.05, 0.04, 0.03], "cold": [0.01, 0.02, 0.01]}  # cosine_spread
VAR = {"base": [100.0, 80.0, 90.0], "rl": [40.0, 30.0, 35.0], "cold": [10.0, 10.0, 10.0]}


def _rows() -> list[dict]:
    rows, prompt_rows = [], []
    for g in H:
        for i in range(3):
            for s in range(2):  # two samples per problem: averaged per pair first
                rows.append({"group": g, "pair": f"p{i}", "mean_entropy": H[g][i] + (0.1 if s else -0.1),
                             "n_tokens": 100, "align_revisit_spike": 4, "align_revisit_nospike": 0,
                             "align_norevisit_spike": 5 if g == "base" else 1, "align_norevisit_nospike": 1,
                             "align_near_saturated": g == "base"})
            prompt_rows.append({"group": g, "sample_group": f"prompt {i}", "pair": f"p{i}",
                                "cosine_spread": SPREAD[g][i], "spread_variance": VAR[g][i], "node_entropy": 1.0,
                                "node_information": 0.5, "n_spread_left_out": 1 if g == "rl" and i == 0 else 0})
    return rows, prompt_rows


def test_spread_rows_and_both_collapses_by_hand():
    rows, prompt_rows = _rows()
    table = collapse_table(rows, "base", "rl", prompt_rows=prompt_rows, n_boot=400, seed=2)
    out = table.as_dict()
    by = {r["key"]: r for r in out["rows"]}
    assert [k for k in by if by[k]["level"] == "hidden"] == ["cosine_spread", "spread_variance", "node_entropy",
                                                             "node_information"]
    assert by["cosine_spread"]["ratio"] == pytest.approx(sum(SPREAD["rl"]) / sum(SPREAD["base"]))
    assert by["cosine_spread"]["note"] == "1 samples left out (shorter than M or empty)"
    r = sum(VAR["rl"]) / sum(VAR["base"])
    assert by["spread_variance"]["ratio"] == pytest.approx(r)
    assert by["spread_variance"]["note"].startswith(f"quadratic: {r:.3g}x variance is {math.sqrt(r):.3g}x in "
                                                    "standard deviation")
    s = out["summary"]
    rh, rs = sum(H["rl"]) / sum(H["base"]), sum(SPREAD["rl"]) / sum(SPREAD["base"])
    assert s["token_collapse"]["value"] == pytest.approx(1 - rh)
    assert s["hidden_collapse_spread"]["value"] == pytest.approx(1 - rs)
    assert math.isnan(s["hidden_collapse_erank"]["value"])  # no erank_window in these rows
    d = s["difference_spread"]
    assert d["value"] == pytest.approx(rs - rh)
    idx = np.random.default_rng(2).integers(0, 3, size=(400, 3))
    ha, hb, sa, sb = (np.array(v)[idx].mean(axis=1) for v in (H["base"], H["rl"], SPREAD["base"], SPREAD["rl"]))
    boot = sb / sa - hb / ha
    assert (d["ci_low"], d["ci_high"]) == (pytest.approx(np.percentile(boot, 2.5)),
                                           pytest.approx(np.percentile(boot, 97.5)))
    # prompts pair by problem even when their prompt ids differ from the pair values
    assert by["cosine_spread"]["n"] == 3 and out["n_pairs"] == 3


def test_control_share_of_each_collapse():
    rows, prompt_rows = _rows()
    out = collapse_table(rows, "base", "rl", prompt_rows=prompt_rows, control="cold", n_boot=200).as_dict()
    share = out["summary"]["control_share"]
    a, b, c = (sum(H[g]) / 3 for g in ("base", "rl", "cold"))
    assert share["group"] == "cold" and share["token_collapse"]["value"] == pytest.approx((a - b) / (a - c))
    a, b, c = (sum(SPREAD[g]) / 3 for g in ("base", "rl", "cold"))
    assert share["hidden_collapse_spread"]["value"] == pytest.approx((a - b) / (a - c))
    assert math.isnan(share["hidden_collapse_erank"]["value"])
    text = collapse_table(rows, "base", "rl", prompt_rows=prompt_rows, control="cold", n_boot=50).to_table()
    assert "(A - B) / (A - C), C = cold: token " in text
    with pytest.raises(InputError, match="'nope'"):
        collapse_table(rows, "base", "rl", control="nope")
    with pytest.raises(InputError, match="third group"):
        collapse_table(rows, "base", "rl", control="rl")


def test_near_saturated_groups_are_flagged():
    rows, _ = _rows()
    table = collapse_table(rows, "base", "rl", n_boot=20)
    sat = table.as_dict()["saturation"]
    assert sat["base"]["spike_rate"] == pytest.approx(9 / 10) and sat["base"]["near_saturated"] is True
    assert sat["rl"]["spike_rate"] == pytest.approx(5 / 6) and sat["rl"]["near_saturated"] is True
    assert sat["base"]["n_near_saturated"] == 6 and sat["rl"]["n_near_saturated"] == 0
    assert "base 0.9 NEAR-SATURATED (6 of 6 traces above 0.8)" in table.to_table()


def test_window_rows_say_how_many_traces_were_too_short():
    rows = [{"group": g, "pair": f"p{i}", "erank_window": math.nan if i == 0 else 10.0 + i,
             "n_tokens": 50 if i == 0 else 300} for g in ("a", "b") for i in range(3)]
    by = {r["key"]: r for r in collapse_table(rows, "a", "b", n_boot=20).as_dict()["rows"]}
    assert by["erank_window"]["n"] == 2
    assert "2 of 6 traces shorter than the 128-token window: NaN, left out" in by["erank_window"]["note"]


def test_compare_groups_control_share():
    rows, _ = _rows()
    cmp = compare_groups(rows, "base", "rl", metrics=["mean_entropy"], control="cold", n_boot=100)
    m = cmp.metrics[0]
    a, b, c = (sum(H[g]) / 3 for g in ("base", "rl", "cold"))
    assert m.control_share == pytest.approx((a - b) / (a - c)) and m.control_ci_low <= m.control_share
    assert "(A-B)/(A-C), C = cold" in cmp.to_table()
    assert math.isnan(compare_groups(rows, "base", "rl", metrics=["mean_entropy"], n_boot=10).metrics[0].control_share)
    unpaired = compare_groups(rows, "base", "rl", pair_field=None, metrics=["mean_entropy"], control="cold",
                              n_boot=10).metrics[0]
    assert unpaired.control_share == pytest.approx((a - b) / (a - c))
    with pytest.raises(InputError, match="third group"):
        compare_groups(rows, "base", "rl", control="rl")


# ---------------------------------------------------------------------- prefix hidden states through a run
def test_lean_trace_keeps_the_first_tokens_in_float16(tiny, tmp_path):
    from reasongraph.trace.extraction.teacher_forced import extract

    trace = extract("Step one adds the tens.\nStep two adds the ones.\nSo the sum is 85.", "What is 47 + 38?",
                    model=tiny, layers=(1, 2))
    lean = trace.lean(prefix_tokens=8)
    assert list(lean.prefix) == [1] and lean.prefix[1].dtype == np.float16
    np.testing.assert_array_equal(lean.prefix[1], trace.hidden[1][:8].astype(np.float16))
    path = lean.save(tmp_path / "t.npz")
    back = Trace.load(path)
    np.testing.assert_array_equal(back.prefix_hidden(), lean.prefix[1])
    assert back.hidden == {} and back.prefix_hidden(2) is None
    old = trace.lean()  # as cached before prefixes existed: still loads, without one
    assert Trace.load(old.save(tmp_path / "old.npz")).prefix_hidden() is None
    assert lean.lean().prefix == lean.prefix  # a lean trace keeps what it has
    assert PREFIX_TOKENS == 512


def test_an_old_summary_reports_new_measures_as_nan(tiny):
    from reasongraph.trace.extraction.teacher_forced import extract

    text = "\n".join(f"Line {i} of the reasoning adds {i} to the sum." for i in range(20))
    lean = extract(text, model=tiny, layers=(1,)).lean()
    fresh = dict(lean.hidden_summary(1))
    for key in ("spectral_entropy_window", "erank_window_norm"):  # a summary cached before the measures existed
        del lean.hidden_stats[1][key]
    old = lean.hidden_summary(1)
    assert math.isnan(old["spectral_entropy_window"]) and not math.isnan(fresh["spectral_entropy_window"])
    assert old["erank_window_norm"] == fresh["erank_window_norm"]  # exactly erank_window / min(W - 1, d)
    rows = [{"group": g, "pair": f"p{i}", "n_tokens": 200, "erank_window": 20.0 + i,
             "spectral_entropy_window": math.nan if g == "b" and i == 0 else 3.0} for g in "ab" for i in range(3)]
    by = {r["key"]: r for r in collapse_table(rows, "a", "b", n_boot=10).as_dict()["rows"]}
    assert by["spectral_entropy_window"]["note"].endswith("1 traces cached before this measure existed: NaN, left "
                                                          "out (score into a new cache folder to compute it)")
    assert "cached before" not in by["erank_window"]["note"] and by["spectral_entropy_window"]["n"] == 2


@pytest.fixture(scope="module")
def sampled_run(tiny, tmp_path_factory):
    from reasongraph.runs.scoring.score import score_dataset
    from reasongraph.runs.generate.generate import generate

    root = tmp_path_factory.mktemp("spread_run")
    records = []
    for t in (1.0, 0.5, 0.2):
        records += [{**r, "group": f"T={t}"} for r in generate(["Add 3 and 4.", "Count to five.", "Name a prime."],
                    model=tiny, out=root / f"t{t}.jsonl", samples=3, max_new_tokens=30, temperature=t, seed=3,
                    progress=False)]
    data = root / "samples.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    score_dataset(data, out=root / "run", model=tiny, prompt_field="prompt", group_field="group",
                  pair_field="prompt_id", sample_group_field="prompt_id", temperature_field="temperature",
                  policy_field="model", k=4, n_shifts=0, progress=False)
    return root


def test_a_run_with_a_sample_group_caches_prefixes_and_writes_spread_rows(sampled_run):
    from reasongraph.runs.folder.reader import ScoredRun
    from reasongraph.analysis.samples.spread import prefix_means, spread_length

    run = ScoredRun(sampled_run / "run")
    rows = {r["line"]: r for r in run.rows()}
    prompts = run.diversity()
    assert prompts and all(p["spread_note"] == "" for p in prompts)
    for p in prompts:  # M is the prompt's shortest response in every group, and the spread is recomputable
        lengths = [r["n_tokens"] for r in rows.values() if r["pair"] == p["sample_group"]]
        assert p["spread_tokens"] == spread_length(lengths)
        traces = [run.trace(rows[ln]) for ln in p["lines"]]
        assert all(t.prefix_hidden().dtype == np.float16 for t in traces)
        means = prefix_means([t.prefix_hidden() for t in traces], p["spread_tokens"])
        from reasongraph.analysis.samples.spread import cosine_spread

        assert p["cosine_spread"] == pytest.approx(cosine_spread(means), rel=1e-12)
    summary = run.summary["diversity"]
    assert set(summary) == {"T=1.0", "T=0.5", "T=0.2"} and "cosine_spread" in summary["T=1.0"]["metrics"]


def test_compare_with_a_control_group_end_to_end(sampled_run, capsys):
    from reasongraph.cli.app import main

    assert main(["compare", str(sampled_run / "run"), "--a", "T=1.0", "--b", "T=0.5", "--control", "T=0.2",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = [r["key"] for r in out["collapse"]["rows"]]
    assert "cosine_spread" in keys and "spread_variance" in keys and "node_entropy" in keys
    assert out["collapse"]["summary"]["control_share"]["group"] == "T=0.2"
    assert out["control"] == "T=0.2" and "control_share" in out["metrics"]["mean_entropy"]
    assert main(["compare", str(sampled_run / "run"), "--a", "T=1.0", "--b", "T=0.5"]) == 0
    text = capsys.readouterr().out
    assert "hidden collapse 1 - cosine spread ratio (across samples)" in text
    assert "(A - B) / (A - C): n/a (no control group named)" in text and "cosine_spread" in text


def test_runs_without_a_sample_group_keep_their_cache_keys(tiny):
    from reasongraph.runs.scoring.options import ScoreOptions

    opts = ScoreOptions.checked(layers=(0.9,), segment="newline", prompt_format="raw", temperature=1.0,
                                  truncate=False, k=5, method="kmeans", cluster_by="model", fit_sample=None, rho=0.2,
                                  forking_threshold=None, rule="onset", onset_tokens=1, lookback=0, n_shifts=0,
                                  batch_size=None, keep_hidden=False, on_error="skip", seed=0)
    plain = opts.cache_options((2,), 1.0)
    assert "prefix_tokens" not in plain  # the options (and so the keys) of runs before prefixes existed
    assert opts.cache_options((2,), 1.0, prefix_tokens=512) == {**plain, "prefix_tokens": 512}


def test_a_block_projected_to_rank_r_gives_erank_at_most_r(tiny):
    """A positive control through a real forward pass: the output of block 0 projected onto r directions (a hook);
    hidden_states[1] then spans r directions, and every rank measure of it is at most r, while block 1's output
    (its input is rank r, its own weights are not) is not held to it."""
    import torch

    from reasongraph.trace.hidden.effective_rank import effective_rank
    from reasongraph.trace.extraction.teacher_forced import extract
    from reasongraph.trace.hidden.spectral import window_measures

    text = "\n".join(f"Line {i}: we add {i} and {2 * i} to get {3 * i}." for i in range(12))
    rng = np.random.default_rng(0)
    for r in (2, 5):
        basis = torch.tensor(np.linalg.qr(rng.normal(size=(64, r)))[0], dtype=torch.float32)
        projection = basis @ basis.T

        def project(_module, _inputs, output):
            return output @ projection if isinstance(output, torch.Tensor) else (output[0] @ projection, *output[1:])

        handle = tiny.model.model.layers[0].register_forward_hook(project)
        try:
            trace = extract(text, model=tiny, layers=(1, 2))
        finally:
            handle.remove()
        X = trace.hidden[1].astype(np.float64)
        s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
        assert np.all(s[r:] < 1e-5 * s[0])  # rank r up to float32 round-off
        m = window_measures(X, 16)
        assert m["erank_window"] <= r + 1e-3 and effective_rank(X) <= r + 1e-3
        assert m["spectral_entropy_window"] <= math.log(r) + 1e-3 and m["erank_window_norm"] <= (r + 1e-3) / 15
        assert window_measures(trace.hidden[2].astype(np.float64), 16)["erank_window"] > r + 1


def test_the_report_shows_the_spread_of_runs_that_have_it():
    from reasongraph.html.report_view import report_payload

    row = {"group": "a", "sample_group": "p", "walk_distance": 0.5, "walks": [[0], [1]], "cosine_spread": 0.06,
           "spread_variance": 900.0, "node_entropy": 1.2, "node_entropy_cap": 2.0, "node_information": 0.4}
    dv = report_payload([{"group": "a"}], diversity=[row, {**row, "sample_group": "q", "cosine_spread": 0.02}])
    keys = [m["key"] for m in dv["diversity"]["metrics"]]
    assert keys[4:] == ["cosine_spread", "spread_variance", "node_entropy", "node_entropy_cap", "node_information"]
    assert dv["diversity"]["groups"]["a"]["cosine_spread"]["mean"] == pytest.approx(0.04)
    old = report_payload([{"group": "a"}], diversity=[{k: v for k, v in row.items() if k != "cosine_spread"}])
    assert "cosine_spread" not in [m["key"] for m in old["diversity"]["metrics"]]
