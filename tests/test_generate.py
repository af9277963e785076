"""On-policy sampling: recorded entropy equals teacher-forced entropy, seeded, resumable after kill -9, bad input."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reasongraph.cli.app import main
from reasongraph.runs.generate.output import entropy_dir, manifest_path
from reasongraph.runs.generate.generate import generate
from reasongraph.runs.generate.shards import load_policy_entropy, load_token_ids
from reasongraph.trace.sampling.draw import draw

from conftest import wait_for

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ["Question: what is 17 * 23? Let us think step by step. First,", "A short poem about the sea:\n"]


def _write_prompts(path: Path, prompts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"id": f"q{i}", "prompt": p}) + "\n" for i, p in enumerate(prompts)))
    return path


# ---------------------------------------------------------------------- the recorded entropy
def test_draw_check_values_and_float64_reference():
    """draw's entropy and log-prob against science.md's check values and a float64 reference, and its token
    against the inverse CDF computed independently in float64 (full vocabulary and the top-p nucleus)."""
    import torch

    t = 0.7
    # logits T * ln p give softmax(z / T) = p: science.md's check values
    probs = [[.5, .5, 0, 0], [.8, .1, .1, 0], [.25, .25, .25, .25]]
    z = torch.tensor([[t * np.log(x) if x else -1e4 for x in row] for row in probs], dtype=torch.float32)
    before = z.clone()
    token, h, lp = draw(z, torch.tensor([0.6, 0.85, 0.3]), t, 1.0)
    assert torch.equal(z, before)  # the logits are left as they were
    np.testing.assert_allclose(h.numpy(), [0.693147, 0.639032, 1.386294], atol=2e-6)
    assert token.tolist() == [1, 1, 1]  # 0.6 past 0.5; 0.85 past 0.8; 0.3 past 0.25
    np.testing.assert_allclose(lp.numpy(), np.log([.5, .1, .25]), atol=2e-6)

    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(6, 49152))
    u = rng.random(6)
    p = np.exp(logits / t - np.max(logits / t, axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    for top_p in (1.0, 0.9):
        token, h, lp = draw(torch.tensor(logits, dtype=torch.float32), torch.tensor(u, dtype=torch.float32), t,
                            top_p)
        np.testing.assert_allclose(h.numpy(), -(p * np.log(p)).sum(axis=1), rtol=1e-5)
        for r in range(6):
            order = np.argsort(-p[r], kind="stable")
            mass = p[r][order]
            kept = order[np.cumsum(mass) - mass < top_p]  # the nucleus: mass before the token below top_p
            cdf = np.cumsum(p[r][kept])
            want = kept[np.searchsorted(cdf, u[r] * cdf[-1], side="right")] if top_p < 1 else \
                np.searchsorted(np.cumsum(p[r]), u[r], side="right")
            assert token[r] == want
            assert lp[r].item() == pytest.approx(np.log(p[r, want]), abs=1e-4)


def test_draw_never_picks_a_token_of_probability_zero():
    import torch

    z = torch.tensor([[0.0, 0.0, -1e9, -1e9]] * 3)  # the last two tokens have probability 0 in float32
    token, _, _ = draw(z, torch.tensor([0.0, 0.9999999, 1.0]), 1.0, 1.0)
    assert token.tolist() == [0, 1, 1]


@pytest.mark.model
@pytest.mark.parametrize("temperature, top_p, prompt_format, batch_size", [(1.0, 1.0, "raw", 3),
                                                                           (0.7, 0.9, "chat", None)])
def test_policy_entropy_equals_teacher_forced(smollm2, tmp_path, temperature, top_p, prompt_format, batch_size):
    """score's entropy of the same trace (same model, temperature, prompt format) is the recorded one.

    In the raw case, calls of 3 rows mix prompts of 21, 8 and 1 tokens: left padding, a prompt cache shared by
    its rows, and a 1-token prompt whose cached part is padding only.

    Tolerance: 1e-4 nats + 1e-4 relative. Both are float32 on CPU; generate runs the prompt once and then one
    token at a time against the KV cache, teacher forcing runs one forward pass over prompt + trace, so the
    matrix products sum in another order and the logits differ in the last bits (measured: at most 1.7e-5 nats,
    1.9e-5 relative, over these samples with entropies up to 5.6 nats; 2.5e-5 in other draws). A real mismatch
    (a BOS or template difference, T applied twice or not at all, top-p in the entropy) changes whole
    distributions, far beyond that.
    """
    from reasongraph.trace.extraction.teacher_forced import extract

    out = tmp_path / "traces.jsonl"
    records = generate([*PROMPTS, "Hi"], model=smollm2, out=out, samples=2, temperature=temperature, top_p=top_p,
                       max_new_tokens=24, seed=3, prompt_format=prompt_format, batch_size=batch_size,
                       progress=False)
    assert [r["id"] for r in records] == ["0/s0", "0/s1", "1/s0", "1/s1", "2/s0", "2/s1"]
    entropy, token_ids = load_policy_entropy(out), load_token_ids(out)
    compared = 0
    for r in records:
        h, ids = entropy[r["id"]], token_ids[r["id"]]
        assert len(h) == len(ids) == r["n_tokens"]
        assert r["finish_reason"] == ("length" if r["n_tokens"] == 24 else "eos")
        if not r["trace"].strip():
            continue  # EOS came first: nothing to compare
        trace = extract(r["trace"], r["prompt"], model=smollm2, temperature=temperature,
                        prompt_format=prompt_format)
        round_trip = trace.input_ids[trace.prompt_len:].tolist() == ids.tolist()
        assert round_trip == r["ids_round_trip"]
        if round_trip:
            np.testing.assert_allclose(trace.entropy, h, rtol=1e-4, atol=1e-4)
            compared += 1
    assert compared >= 4, "too few samples whose text re-tokenizes to the generated ids"


# ---------------------------------------------------------------------- seeds and resuming
@pytest.mark.parametrize("batch_size", [None, 4])  # 4: a call holds prompt 0's samples and prompt 1's first
def test_same_seed_same_samples(tiny, tmp_path, batch_size):
    kw = {"model": tiny, "samples": 3, "max_new_tokens": 12, "batch_size": batch_size, "progress": False}
    a = generate(PROMPTS, out=tmp_path / "a.jsonl", seed=7, **kw)
    b = generate(PROMPTS, out=tmp_path / "b.jsonl", seed=7, **kw)
    c = generate(PROMPTS, out=tmp_path / "c.jsonl", seed=8, **kw)
    assert [r["trace"] for r in a] == [r["trace"] for r in b]
    assert len({r["trace"] for r in a}) == 6  # the samples of a prompt differ
    assert not {r["trace"] for r in a} & {r["trace"] for r in c}
    ha, hb = load_policy_entropy(tmp_path / "a.jsonl"), load_policy_entropy(tmp_path / "b.jsonl")
    assert all(np.array_equal(ha[k], hb[k]) for k in ha) and ha.keys() == hb.keys()


def _cli(*args: str) -> list[str]:
    return ["generate", *args]


@pytest.mark.slow
def test_resume_after_kill(tiny_dir, tmp_path):
    """A run killed with SIGKILL mid-way and resumed writes the same file and entropies as an uninterrupted one."""
    prompts = _write_prompts(tmp_path / "prompts.jsonl", [f"Problem {i}: count to {i}." for i in range(12)])
    args = ["--model", str(tiny_dir), "--samples", "2", "--max-new-tokens", "12", "--seed", "5", "--batch-size", "3",
            "--quiet"]  # calls of 3 rows: most hold samples of two prompts
    killed = tmp_path / "killed.jsonl"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "reasongraph", "generate", str(prompts), "--out", str(killed),
                             *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if wait_for(lambda: killed.exists() and killed.read_bytes().count(b"\n") >= 3, proc):
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    n_written = killed.read_bytes().count(b"\n")
    assert 3 <= n_written < 24, n_written

    assert main(_cli(str(prompts), "--out", str(killed), *args)) == 0
    full = tmp_path / "full.jsonl"
    assert main(_cli(str(prompts), "--out", str(full), *args)) == 0
    assert killed.read_bytes() == full.read_bytes()
    assert killed.read_bytes().count(b"\n") == 24
    got, want = load_policy_entropy(killed), load_policy_entropy(full)
    assert got.keys() == want.keys() and all(np.array_equal(got[k], want[k]) for k in want)


@pytest.mark.parametrize("batch_size, kept, shard", [(None, 4, "00000001-000000"), (4, 3, "00000000-000000")])
def test_resume_inside_a_batch_with_a_torn_line(tiny, tmp_path, batch_size, kept, shard):
    """Killed after writing part of a call's samples, mid-way through the next line: nothing lost, no twin.

    One prompt per call: prompt 1's s0 written, s1 torn, s2 missing. Calls of 4 rows: the first call holds
    prompt 0's three samples (written) and prompt 1's s0 (torn).
    """
    kw = {"model": tiny, "samples": 3, "max_new_tokens": 10, "seed": 1, "batch_size": batch_size,
          "progress": False}
    full = tmp_path / "full.jsonl"
    generate(PROMPTS, out=full, **kw)
    part = tmp_path / "part.jsonl"
    generate(PROMPTS, out=part, **kw)
    lines = part.read_bytes().splitlines(keepends=True)
    part.write_bytes(b"".join(lines[:kept]) + lines[kept][:20])
    (entropy_dir(part) / f"{shard}.npz").unlink()
    records = generate(PROMPTS, out=part, **kw)
    assert [r["id"] for r in records] == ["0/s0", "0/s1", "0/s2", "1/s0", "1/s1", "1/s2"]
    assert part.read_bytes() == full.read_bytes()
    assert load_policy_entropy(part).keys() == load_policy_entropy(full).keys()


def test_rerun_with_other_options_is_refused(tiny, tmp_path, capsys):
    out = tmp_path / "t.jsonl"
    generate(PROMPTS, model=tiny, out=out, samples=1, max_new_tokens=4, progress=False)
    with pytest.raises(Exception, match=r"other options \(temperature: run has 1.0, now 0.5\)"):
        generate(PROMPTS, model=tiny, out=out, samples=1, max_new_tokens=4, temperature=0.5, progress=False)
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text('{"id": 1}\n')
    with pytest.raises(Exception, match="without its manifest"):
        generate(PROMPTS, model=tiny, out=foreign, max_new_tokens=4, progress=False)
    assert manifest_path(out).is_file() and not manifest_path(foreign).exists()
    manifest = json.loads(manifest_path(out).read_text())
    manifest_path(out).write_text(json.dumps({**manifest, "version": 1}))  # an earlier reasongraph's run
    with pytest.raises(Exception, match="samples differently .generate format version 1, now 3."):
        generate(PROMPTS, model=tiny, out=out, samples=1, max_new_tokens=4, progress=False)


def test_txt_prompts_and_records_that_score_reads(tiny, tiny_dir, tmp_path):
    """A .txt input (one prompt per line, blank lines skipped); score reads the output as it is, and its mean
    entropy of each trace is the mean of the recorded entropies."""
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Say hello.\n\nCount to three.\n")
    out = tmp_path / "traces.jsonl"
    records = generate(prompts, model=tiny, out=out, samples=2, max_new_tokens=12, temperature=0.8,
                       progress=False)
    assert [r["prompt_id"] for r in records] == ["1", "1", "3", "3"]
    assert {k: records[0][k] for k in ("prompt", "sample", "temperature", "top_p", "seed", "model")} == {
        "prompt": "Say hello.", "sample": 0, "temperature": 0.8, "top_p": 1.0, "seed": 0,
        "model": "tiny-random-llama-0"}
    run = tmp_path / "run"
    assert main(["score", str(out), "--prompt-field", "prompt", "--model", str(tiny_dir), "--temperature", "0.8",
                 "--k", "2", "--n-shifts", "0", "--quiet", "--out", str(run)]) == 0
    rows = {r["id"]: r for r in map(json.loads, (run / "rows.jsonl").read_text().splitlines())}
    entropy, token_ids = load_policy_entropy(out), load_token_ids(out)
    for r in records:
        again = tiny.tokenizer(r["trace"], add_special_tokens=False)["input_ids"]
        assert r["ids_round_trip"] == (again == token_ids[r["id"]].tolist())
    # random tokens often re-tokenize otherwise ('axy' 'magnetic' -> 'ax' 'ym' 'agnetic'): the flag tells
    assert 0 < sum(r["ids_round_trip"] for r in records) < len(records)
    for r in records:
        if r["ids_round_trip"]:
            assert rows[r["id"]]["mean_entropy"] == pytest.approx(float(np.mean(entropy[r["id"]])), rel=1e-4)


# ---------------------------------------------------------------------- bad input, on the command line
@pytest.fixture
def no_loading(monkeypatch):
    """Bad input must fail before the model loads: loading one fails the test."""
    import reasongraph.models.sources

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the input was checked")
    monkeypatch.setattr(reasongraph.models.sources, "load_model", refuse)


@pytest.mark.parametrize("extra, message", [
    (["--temperature", "0"], "temperature must be a finite number > 0, got 0.0"),
    (["--temperature", "-1"], "temperature must be a finite number > 0"),
    (["--temperature", "nan"], "temperature must be a finite number > 0, got nan"),
    (["--temperature", "inf"], "temperature must be a finite number > 0, got inf"),
    (["--top-p", "0"], "--top-p must be in (0, 1], got 0.0"),
    (["--top-p", "1.5"], "--top-p must be in (0, 1], got 1.5"),
    (["--samples", "0"], "samples must be a whole number >= 1, got 0"),
    (["--max-new-tokens", "0"], "--max-new-tokens must be a whole number >= 1, got 0"),
    (["--prompt-field", "question"], "unknown field name: --prompt-field 'question'; fields in the input: id, prompt"),
])
def test_bad_options_exit_2_before_loading(tmp_path, capsys, no_loading, extra, message):
    prompts = _write_prompts(tmp_path / "p.jsonl", PROMPTS)
    out = tmp_path / "t.jsonl"
    assert main(_cli(str(prompts), "--out", str(out), *extra)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("reasongraph generate: error: ") and message in err
    assert not out.exists() and not manifest_path(out).exists()


@pytest.mark.parametrize("lines, message", [
    ('{"id": "a", "prompt": "Hi"}\n{"id": "b", "prompt": "  "}\n', "line 2 (id 'b'): empty text in field 'prompt'"),
    ('{"id": "a", "prompt": "Hi"}\n{"id": "b"}\n', "line 2 (id 'b'): missing prompt field 'prompt'"),
    ('{"id": "a", "prompt": "Hi"}\n{"id": "a", "prompt": "Ho"}\n', "line 2 (id 'a'): prompt id 'a' was already used"),
    ('{"id": "a", "prompt": 3}\n', "line 1 (id 'a'): prompt field 'prompt' is not a string"),
])
def test_bad_prompts_exit_2_before_loading(tmp_path, capsys, no_loading, lines, message):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(lines)
    assert main(_cli(str(prompts), "--out", str(tmp_path / "t.jsonl"))) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and message in err, err


def test_prompt_longer_than_the_context(tiny_dir, tmp_path, capsys):
    prompts = _write_prompts(tmp_path / "p.jsonl", ["Short.", " ".join(["word"] * 1000)])
    out = tmp_path / "t.jsonl"
    assert main(_cli(str(prompts), "--out", str(out), "--model", str(tiny_dir), "--max-new-tokens", "1500",
                     "--quiet")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "line 2 (id 'q1'): the prompt is " in err
    assert "tokens, and with --max-new-tokens 1500 that is more than the model's context of 2048 tokens" in err
    assert not out.exists()  # checked before any sampling
