"""The layer columns and the lean trace cache of a scoring run (tiny random model)."""
from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from reasongraph.runs.scoring.score import score_dataset
from reasongraph.core.storage import read_jsonl
from reasongraph.trace.trace import Trace

WORDS = "the sum of two numbers is seven so we check again wait maybe compute carefully hmm".split()
OPTS = dict(prompt_field="problem", group_field="model", pair_field="pair_key", k=6, n_shifts=50, progress=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("layers")
    rng = random.Random(1)
    with open(root / "in.jsonl", "w") as f:
        for p in range(4):
            for model in ("base", "rl"):
                trace = "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 10))) for _ in range(14))
                f.write(json.dumps({"id": f"{model}-{p}", "problem": f"Problem {p}", "model": model,
                                    "pair_key": f"q{p}", "trace": trace}) + "\n")
    return root


def _without(row: dict, *keys: str) -> str:
    return json.dumps({k: v for k, v in row.items() if k not in keys}, sort_keys=True)


def test_each_layer_of_a_sweep_equals_a_run_at_that_layer(data, tiny):
    sweep = score_dataset(data / "in.jsonl", out=data / "sweep", model=tiny, layers=(1, 2), **OPTS)
    single = score_dataset(data / "in.jsonl", out=data / "single", model=tiny, layers=(2,), **OPTS)
    assert len(sweep) == len(single) == 8
    for a, b in zip(sweep, single):
        for name in ("n_nodes", "loop_exists", "loop_count", "n_revisits", "revisits_per_step", "diameter_hops",
                     "erank_window", "effective_rank"):
            assert a[f"{name}@2"] == pytest.approx(b[name], nan_ok=True), name
    fit = json.loads((data / "sweep" / "fit.json").read_text())
    assert sorted(fit["units"]) == [tiny.name, f"{tiny.name}@2"]  # one clustering per layer
    table = json.loads((data / "sweep" / "summary.json").read_text())["layers"]
    for spec, suffix in (("1", ""), ("2", "@2")):
        for group in ("base", "rl"):
            loops = [r["loop_exists" + suffix] for r in sweep if r["group"] == group]
            assert table[spec][group]["detection_ratio"] == pytest.approx(np.mean(loops))
    assert json.loads((data / "single" / "summary.json").read_text())["layers"] is None


def test_the_lean_cache_gives_the_rows_of_full_hidden_states_at_a_fraction_of_the_bytes(data, tiny):
    lean = score_dataset(data / "in.jsonl", out=data / "lean", model=tiny, layers=(1, 2), **OPTS)
    full = score_dataset(data / "in.jsonl", out=data / "full", model=tiny, layers=(1, 2), keep_hidden=True, **OPTS)
    assert [_without(r, "trace_key") for r in lean] == [_without(r, "trace_key") for r in full]
    tokens = sum(r["n_tokens"] for r in lean)
    size = {name: sum(p.stat().st_size for p in (data / name / "traces").rglob("*.npz")) for name in ("lean", "full")}
    assert size["lean"] < size["full"]
    entry = Trace.load(next((data / "lean" / "traces").rglob("*.npz")))
    assert entry.hidden == {} and sorted(entry.pooled) == [1, 2] and sorted(entry.hidden_stats) == [1, 2]
    kept = Trace.load(next((data / "full" / "traces").rglob("*.npz")))
    assert all(h.dtype == np.float16 for h in kept.hidden.values())
    print(f"cache bytes per 1k tokens: lean {1000 * size['lean'] / tokens:.0f}, full {1000 * size['full'] / tokens:.0f}")


def test_reports_embed_traces_from_the_lean_cache(data, tiny):
    from reasongraph.runs.folder.reader import ScoredRun

    run = ScoredRun(data / "lean")
    rows = list(read_jsonl(run.layout.rows))[:2]
    analyses = run.analyses(rows)
    for row in rows:
        an = analyses[row["line"]]
        assert an.metrics["n_revisits"] == row["n_revisits"]
        assert math.isclose(an.metrics["erank_window"], row["erank_window"], rel_tol=1e-12) or \
            math.isnan(row["erank_window"])
        assert len(an.erank_curve[0]) > 0  # the trace view's rank curve comes from the cached summary
