"""On-policy end to end: samples drawn at two temperatures, each scored at its own, compared as a controlled
collapse (tiny random model; the real model's entropy agreement is tested in test_generate.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from reasongraph.cli.app import main
from reasongraph.runs.generate.generate import generate
from reasongraph.runs.generate.shards import load_policy_entropy
from reasongraph.runs.folder.reader import ScoredRun
from reasongraph.analysis.groups.per_group import ON_POLICY

PROMPTS = ["Add 3 and 4.", "Count to five.", "Name a prime."]


@pytest.fixture(scope="module")
def run(tiny, tmp_path_factory):
    root = tmp_path_factory.mktemp("on_policy")
    records, entropy = [], {}
    for t in (1.0, 0.6):
        out = root / f"t{t}.jsonl"
        records += generate(PROMPTS, model=tiny, out=out, samples=3, max_new_tokens=24, temperature=t, seed=7,
                            progress=False)
        entropy.update({(t, k): v for k, v in load_policy_entropy(out).items()})
    both = root / "both.jsonl"
    both.write_text("".join(json.dumps({**r, "group": f"T={r['temperature']}"}) + "\n" for r in records))
    return {"root": root, "input": both, "records": records, "entropy": entropy}


def test_each_sample_is_scored_at_its_own_temperature_by_its_own_policy(run, tiny):
    from reasongraph.runs.scoring.score import score_dataset

    rows = score_dataset(run["input"], out=run["root"] / "run", model=tiny, prompt_field="prompt",
                         group_field="group", pair_field="prompt_id", sample_group_field="prompt_id",
                         temperature_field="temperature", policy_field="model", k=4, n_shifts=0, progress=False)
    by_id = {(r["group"], r["id"]): r for r in rows}
    checked = 0
    for rec in run["records"]:
        row = by_id.get((f"T={rec['temperature']}", rec["id"]))
        if row is None:  # an empty sample (EOS first) is an error record
            continue
        assert row["scored_at"] == rec["temperature"] and row["on_policy"] is True
        if rec["ids_round_trip"]:  # teacher forcing at T gives the entropy the policy sampled with
            want = float(np.mean(run["entropy"][rec["temperature"], rec["id"]]))
            assert row["mean_entropy"] == pytest.approx(want, rel=1e-4)
            checked += 1
    assert checked >= 3
    scored = ScoredRun(run["root"] / "run")
    assert scored.summary["mode"] == ON_POLICY
    assert {d["sample_group"] for d in scored.diversity()} <= {"0", "1", "2"} and scored.diversity()


def test_compare_states_the_on_policy_mode_and_shows_the_collapse(run, capsys):
    assert main(["compare", str(run["root"] / "run"), "--a", "T=1.0", "--b", "T=0.6", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == ON_POLICY and out["collapse"]["mode"] == ON_POLICY
    ratio = {r["key"]: r["ratio"] for r in out["collapse"]["rows"]}
    assert ratio["mean_entropy"] < 1  # sampling at 0.6 collapses the policy's own token entropy
    assert set(out["diversity"]) == {"T=1.0", "T=0.6"}
