"""Scoring what is sampled in the sampling pass (generate --score), samples that depend only on (seed, prompt,
sample index), and empty completions scored as traces of no step.

The equality with teacher forcing runs on the default model (marker ``model``): entropies within 1e-4 nats, step
vectors at cosine >= 0.9999, the same walks and metrics on >= 98% of traces and every continuous collapse-table
ratio within 1%. The bookkeeping (cache keys, counts, resuming, the command line) runs on the tiny random model.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from reasongraph.cli.app import main
from reasongraph.runs.generate.generate import generate
from reasongraph.runs.generate.shards import load_policy_entropy, load_token_ids
from reasongraph.trace.sampling.draw import row_uniforms
from reasongraph.trace.sampling.decode import sample_rows

PROMPTS = ["Add 3 and 4.", "Count to five.", "Name a prime."]


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


# ---------------------------------------------------------------------- a sample's own stream
def test_a_sample_depends_only_on_seed_prompt_and_sample_index(tiny, tmp_path):
    """The same prompts alone, together with others, and at two batch sizes: the same sampled ids."""
    kw = {"model": tiny, "samples": 3, "max_new_tokens": 16, "seed": 5, "progress": False}
    runs = {"alone": generate([PROMPTS[1]], out=tmp_path / "alone.jsonl", **kw),
            "together, calls of 4": generate(PROMPTS, out=tmp_path / "b4.jsonl", batch_size=4, **kw),
            "together, one call": generate(["Hi there.", *PROMPTS], out=tmp_path / "b12.jsonl", batch_size=12, **kw)}
    drawn = {}
    for (name, records), stem in zip(runs.items(), ("alone", "b4", "b12")):
        ids = load_token_ids(tmp_path / f"{stem}.jsonl")
        drawn[name] = {(r["prompt"], r["sample"]): ids[r["id"]].tolist() for r in records}
    for name in ("together, calls of 4", "together, one call"):
        for key, tokens in drawn["alone"].items():
            assert drawn[name][key] == tokens, (name, key)
    others = {k: v for k, v in drawn["together, one call"].items() if k[0] != "Hi there."}
    assert drawn["together, calls of 4"] == others
    assert len({tuple(v) for v in drawn["alone"].values()}) == 3  # the samples of one prompt differ
    # the stream itself: a prefix of a longer draw, and another per sample index
    assert np.array_equal(row_uniforms(5, PROMPTS[1], 0, 8), row_uniforms(5, PROMPTS[1], 0, 16)[:8])
    assert not np.array_equal(row_uniforms(5, PROMPTS[1], 0, 8), row_uniforms(5, PROMPTS[1], 1, 8))


def test_sampling_leaves_the_torch_rng_alone(tiny):
    import torch

    from reasongraph.trace.extraction.encode import encode_prompt

    torch.manual_seed(3)
    before = torch.random.get_rng_state()
    sample_rows(tiny, [encode_prompt(tiny.tokenizer, PROMPTS[0], "raw")], [(PROMPTS[0], 0)], seed=0, max_new_tokens=4)
    assert torch.equal(torch.random.get_rng_state(), before)


# ---------------------------------------------------------------------- generate --score on the tiny model
def test_score_of_a_sampled_file_finds_every_recorded_trace(tiny, tmp_path):
    from reasongraph.runs.scoring.score import score_dataset

    out = tmp_path / "s.jsonl"
    records = generate(PROMPTS, model=tiny, out=out, samples=3, max_new_tokens=10, score=True, segment="window:3",
                       progress=False)
    recorded = [r["recorded"] for r in records]
    assert recorded == [r["ids_round_trip"] for r in records] and 0 < sum(recorded) < len(records)
    rows = score_dataset(out, out=tmp_path / "run", model=tiny, prompt_field="prompt", segment="window:3",
                         cache_dir=f"{out}.traces", k=3, n_shifts=0, progress=False)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert [r["extraction"] for r in rows] == ["sampled" if x else "teacher_forced" for x in recorded]
    assert summary["timing"]["n_extracted"] == len(records) - sum(recorded)  # no forward pass for the others
    assert summary["extraction"] == {"sampled": sum(recorded), "teacher_forced": len(records) - sum(recorded)}
    entropy = load_policy_entropy(out)
    for r, row in zip(records, rows):
        if r["recorded"]:  # the others re-tokenize to other tokens, whose entropies teacher forcing gives
            assert row["mean_entropy"] == pytest.approx(float(np.mean(entropy[r["id"]])), rel=1e-6)
    # a run with a sample group keys its entries with the prefix hidden states the spread needs: found too
    grouped = score_dataset(out, out=tmp_path / "grouped", model=tiny, prompt_field="prompt", segment="window:3",
                            sample_group_field="prompt_id", cache_dir=f"{out}.traces", k=3, n_shifts=0,
                            progress=False)
    assert [r["extraction"] for r in grouped] == [r["extraction"] for r in rows]
    assert json.loads((tmp_path / "grouped" / "summary.json").read_text())["timing"]["n_extracted"] == \
        len(records) - sum(recorded)
    # another layer or segmenter is another key: those rows are teacher-forced
    other = score_dataset(out, out=tmp_path / "other", model=tiny, prompt_field="prompt", segment="window:4",
                          cache_dir=f"{out}.traces", k=3, n_shifts=0, progress=False)
    assert {r["extraction"] for r in other} == {"teacher_forced"}


def test_resumed_generate_with_score_writes_the_same_entries(tiny, tmp_path):
    from reasongraph.trace.trace import Trace

    kw = {"model": tiny, "samples": 2, "max_new_tokens": 8, "score": True, "batch_size": 4, "progress": False}
    full = generate(PROMPTS, out=tmp_path / "full.jsonl", **kw)
    part = tmp_path / "part.jsonl"
    generate(PROMPTS, out=part, **kw)
    lines = part.read_bytes().splitlines(keepends=True)
    part.write_bytes(b"".join(lines[:3]))  # killed after 3 of 6 records; the call of rows 0-3 is redone
    again = generate(PROMPTS, out=part, **kw)
    assert again == [{**r} for r in full]
    a = {p.name: Trace.load(p) for p in (tmp_path / "full.jsonl.traces").rglob("*.npz")}
    b = {p.name: Trace.load(p) for p in (tmp_path / "part.jsonl.traces").rglob("*.npz")}
    # two entries per recorded sample: one for a plain run, one for a run with a sample group (prefix states kept)
    assert a.keys() == b.keys() and len(a) == 2 * sum(r["recorded"] for r in full)
    for name in a:
        assert np.array_equal(a[name].entropy, b[name].entropy)
        assert np.array_equal(a[name].pooled[a[name].layers[0]], b[name].pooled[b[name].layers[0]])
        assert a[name].meta["recorded"] == "sampling"


def test_cli_generate_score_then_score(tiny_dir, tmp_path, capsys):
    prompts = _write(tmp_path / "p.jsonl", [{"id": f"q{i}", "prompt": p} for i, p in enumerate(PROMPTS)])
    out = tmp_path / "s.jsonl"
    assert main(["generate", str(prompts), "--out", str(out), "--model", str(tiny_dir), "--samples", "2",
                 "--max-new-tokens", "8", "--score", "--layer", "1", "--quiet"]) == 0
    said = capsys.readouterr().out
    assert f"--layer 1 --cache-dir {out}.traces" in said and "recorded while sampling" in said
    records = [json.loads(line) for line in out.read_text().splitlines()]
    run = tmp_path / "run"
    assert main(["score", str(out), "--prompt-field", "prompt", "--model", str(tiny_dir), "--layer", "1",
                 "--cache-dir", f"{out}.traces", "--k", "2", "--n-shifts", "0", "--quiet", "--out", str(run)]) == 0
    rows = [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines()]
    assert [r["extraction"] == "sampled" for r in rows] == [r["recorded"] for r in records]
    assert sum(r["recorded"] for r in records) and "from traces recorded while sampling" in capsys.readouterr().out


def test_cli_scoring_options_need_score(tmp_path, capsys):
    prompts = _write(tmp_path / "p.jsonl", [{"id": "a", "prompt": "Hi"}])
    for flag in (["--layer", "0.5"], ["--layer", "0.9"]):  # given at all, even the default, it needs --score
        assert main(["generate", str(prompts), "--out", str(tmp_path / "s.jsonl"), *flag]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "apply to --score" in err


# ---------------------------------------------------------------------- empty completions
@pytest.fixture
def eager_to_stop(tiny_dir, monkeypatch):
    """The tiny model with half its vocabulary made end-of-sequence tokens: about half its samples end at once."""
    import reasongraph as rg

    lm = rg.load_model(tiny_dir, device="cpu", dtype="float32")
    monkeypatch.setattr(lm.model.generation_config, "eos_token_id", list(range(0, lm.model.config.vocab_size, 2)))
    return lm


def test_empty_completions_are_scored_as_traces_of_no_step(eager_to_stop, tmp_path):
    from reasongraph.runs.scoring.score import score_dataset

    lm = eager_to_stop
    out = tmp_path / "s.jsonl"
    records = generate(PROMPTS, model=lm, out=out, samples=6, max_new_tokens=6, score=True, progress=False)
    empty = [r["id"] for r in records if r["n_tokens"] == 0]
    assert 2 <= len(empty) < len(records) and all(r["trace"] == "" for r in records if r["id"] in empty)
    assert all(r["recorded"] for r in records if r["id"] in empty)
    rows = score_dataset(out, out=tmp_path / "run", model=lm, prompt_field="prompt", cache_dir=f"{out}.traces",
                         sample_group_field="prompt_id", k=2, n_shifts=0, progress=False)
    by_id = {r["id"]: r for r in rows}
    assert len(rows) == len(records)  # no error record
    for rid in empty:
        assert by_id[rid]["n_tokens"] == 0 and by_id[rid]["n_steps"] == 0 and by_id[rid]["extraction"] == "sampled"
        assert math.isnan(by_id[rid]["mean_entropy"])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["n_empty"] == len(empty) and summary["n_errors"] == 0
    diversity = [json.loads(line) for line in (tmp_path / "run" / "diversity.jsonl").read_text().splitlines()]
    for d in diversity:
        assert d["n_empty"] == sum(i in empty for i in d["ids"])
        assert d["walks"].count([]) >= d["n_empty"]
    # teacher forcing gives the same empty trace
    forced = score_dataset(out, out=tmp_path / "forced", model=lm, prompt_field="prompt", k=2, n_shifts=0,
                           progress=False)
    assert [r["n_tokens"] for r in forced] == [r["n_tokens"] for r in rows]


def test_an_empty_text_without_a_prompt_is_still_an_error(tmp_path):
    from reasongraph.runs.records.reader import RecordReader

    path = _write(tmp_path / "t.jsonl", [{"trace": "", "prompt": "Q"}, {"trace": ""}, {"trace": " ", "prompt": ""}])
    recs = list(RecordReader(path, prompt_field="prompt"))
    assert [r.error for r in recs] == [None, "empty text in field 'trace'", "empty text in field 'trace'"]
    assert recs[0].text == "" and recs[0].prompt == "Q"


# ---------------------------------------------------------------------- equal to teacher forcing, on the real model
INSTRUCTION = "Solve the problem. Think step by step, one step per line.\n\nProblem: "
CONTINUOUS = ("mean_entropy", "onset_entropy_mean", "erank_window", "erv", "era", "effective_rank", "diameter",
              "path_length", "level_coupling")
DISCRETE = ("n_tokens", "n_steps", "n_nodes", "n_edges", "loop_exists", "loop_count", "max_revisits", "n_revisits")


def _cosines(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x, y = x.astype(np.float64), y.astype(np.float64)
    return (x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))


@pytest.mark.model
def test_scored_while_sampling_equals_teacher_forced(smollm2, tmp_path):
    """The temperature example in small (3 MATH500 problems x 4 samples at T = 1.0 and 0.6, chat format, up to 136
    tokens): score of the samples from the sampling pass's cache entries against score of the same texts
    teacher-forced, in two runs. Measured: 20 of the 24 samples re-tokenize to their ids (the 4 others are
    teacher-forced in both runs), entropies within 1.5e-5 nats, step vectors at cosine >= 0.999999, the same walks
    and graph metrics on 24 of 24 traces, collapse ratios within 1.1e-6 (the test allows 1e-4 nats, 0.9999, 98%
    and 1%)."""
    from reasongraph.analysis.groups.level_collapse import collapse_table
    from reasongraph.runs.scoring.score import score_dataset
    from reasongraph.runs.folder.reader import ScoredRun
    from reasongraph.trace.trace import Trace

    problems = [json.loads(line)["problem"] for line in open(_fixture(), encoding="utf-8")]
    prompts = list(dict.fromkeys(problems))[:3]
    records = []
    for t in (1.0, 0.6):
        records += generate([INSTRUCTION + p for p in prompts], model=smollm2, out=tmp_path / f"T{t}.jsonl",
                            samples=4, temperature=t, max_new_tokens=136, prompt_format="chat", batch_size=12,
                            score=True, cache_dir=tmp_path / "sampled", progress=False)
    both = _write(tmp_path / "both.jsonl", [{**r, "group": f"T={r['temperature']}"} for r in records])
    common = dict(model=smollm2, prompt_field="prompt", prompt_format="chat", group_field="group",
                  pair_field="prompt_id", sample_group_field="prompt_id", temperature_field="temperature",
                  policy_field="model", k=8, n_shifts=0, progress=False)
    fused = score_dataset(both, out=tmp_path / "fused", cache_dir=tmp_path / "sampled", **common)
    forced = score_dataset(both, out=tmp_path / "forced", **common)
    n_recorded = sum(r["recorded"] for r in records)
    assert n_recorded >= 0.75 * len(records)  # measured: 20 of 24 (the others re-tokenize otherwise)
    assert ScoredRun(tmp_path / "fused").summary["timing"]["n_extracted"] == len(records) - n_recorded
    assert [r["extraction"] for r in fused] == ["sampled" if r["recorded"] else "teacher_forced" for r in records]
    assert {r["extraction"] for r in forced} == {"teacher_forced"}

    # the traces: entropies, step vectors and the hidden-state summaries
    for a, b in zip(fused, forced):
        ta = Trace.load(_entry(tmp_path / "sampled", a["trace_key"]))
        tb = Trace.load(_entry(tmp_path / "forced" / "traces", b["trace_key"]))
        assert np.array_equal(ta.input_ids, tb.input_ids) and [s.text for s in ta.steps] == [s.text for s in tb.steps]
        np.testing.assert_allclose(ta.entropy, tb.entropy, atol=1e-4, rtol=0)
        np.testing.assert_allclose(ta.logprob, tb.logprob, atol=1e-3, rtol=1e-4)
        layer = ta.layers[0]
        if ta.n_steps:
            assert _cosines(ta.pooled[layer], tb.pooled[layer]).min() >= 0.9999
    # the same walks and metrics
    walks = {run: {i: w for d in ScoredRun(tmp_path / run).diversity() for i, w in zip(d["ids"], d["walks"])}
             for run in ("fused", "forced")}
    same = [walks["fused"][(a["id"])] == walks["forced"][b["id"]]
            and all(a[k] == b[k] for k in DISCRETE)
            and all(math.isclose(a[k], b[k], rel_tol=1e-3, abs_tol=1e-6) or (math.isnan(a[k]) and math.isnan(b[k]))
                    for k in CONTINUOUS)
            for a, b in zip(fused, forced)]
    assert sum(same) >= 0.98 * len(same), [a["id"] for a, s in zip(fused, same) if not s]
    # every continuous collapse-table ratio within 1% (threshold shares may differ by a token)
    tables = [collapse_table(rows, "T=1.0", "T=0.6", pair_field="pair", n_boot=200) for rows in (fused, forced)]
    for ra, rb in zip(tables[0].rows, tables[1].rows):
        if ra.key in ("low_entropy_share", "forking_share_ref") or math.isnan(rb.ratio):
            continue
        assert ra.ratio == pytest.approx(rb.ratio, rel=0.01), ra.key
    for key in ("token_collapse", "hidden_collapse_erank"):
        assert getattr(tables[0], key)["value"] == pytest.approx(getattr(tables[1], key)["value"], rel=0.01)


def _fixture():
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "fixtures" / "skythought_math500_24x3.jsonl"


def _entry(folder, key):
    from reasongraph.trace.cache import TraceCache

    return TraceCache.entry_path(folder, key)


# ---------------------------------------------------------------------- CUDA (benchmarks/gpu_check.sh runs these)
def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


@pytest.mark.skipif(not _cuda(), reason="needs a CUDA device (benchmarks/gpu_check.sh runs these)")
def test_cuda_sampling_records_what_teacher_forcing_on_the_cpu_computes():
    """float32 on both devices: the GPU draws the CPU's tokens, and its recorded entropies, log-probs and hidden
    states equal a teacher-forced CPU pass over those tokens."""
    from reasongraph.trace.extraction.encode import Encoded
    from reasongraph.trace.extraction.forward import launch_forward
    from test_batching import _llama_pair

    lms = _llama_pair("float32")
    prompts = [[1, 5, 9, 200, 17], [1, 44, 3], [1, 5, 9, 200, 17]]
    keys = [("a", 0), ("b", 0), ("a", 1)]
    a, b = (sample_rows(lm, prompts, keys, seed=3, max_new_tokens=24, layers=(0, 2, 4)) for lm in lms)
    for s_cpu, s_gpu, ids in zip(a, b, prompts):
        assert np.array_equal(s_cpu.token_ids, s_gpu.token_ids)
        n = len(s_gpu.token_ids)
        enc = Encoded(ids + s_gpu.token_ids.tolist(), len(ids), np.zeros((n, 2), np.int64), "", None)
        entropy, logprob, hidden = launch_forward([enc], lms[0], (0, 2, 4), 1.0)()[0]
        np.testing.assert_allclose(s_gpu.entropy, entropy, atol=1e-4)
        np.testing.assert_allclose(s_gpu.logprob, logprob, atol=1e-4)
        for k in (0, 2, 4):
            assert s_gpu.hidden[k].dtype == np.float32
            assert np.linalg.norm(s_gpu.hidden[k] - hidden[k]) / np.linalg.norm(hidden[k]) < 1e-4
