"""Extraction against a float64 reference, batching, truncation and errors."""
from __future__ import annotations

import numpy as np
import pytest

import reasongraph as rg
from reasongraph.core.errors import InputError
from reasongraph.trace.extraction.layers import resolve_layers

from conftest import TINY_TOKENIZER, shared_records

TEXT = ("Let me compute 17 * 24 step by step.\n17 * 24 = 17 * 20 + 17 * 4 = 340 + 68.\n"
        "Wait, let me double-check: 340 + 68 = 408.\nSo the answer is 408.\n")


def _reference(lm, tr):
    """float64 reference from output_hidden_states=True and full logits."""
    import torch

    model = lm.model.double()
    try:
        with torch.no_grad():
            out = model(torch.tensor(tr.input_ids)[None], output_hidden_states=True)
    finally:
        lm.model.float()
    logp = torch.log_softmax(out.logits[0].double(), -1)
    p = tr.prompt_len
    rows = torch.arange(p - 1, p - 1 + tr.n_tokens)
    entropy = (-(logp.exp() * logp).sum(-1))[rows].numpy()
    logprob = logp[rows, torch.tensor(tr.input_ids[p:])].numpy()
    hidden = {k: out.hidden_states[k][0, p:].numpy() for k in tr.layers}
    return entropy, logprob, hidden


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) / np.linalg.norm(b))


@pytest.mark.model
def test_smollm2_matches_float64_reference(smollm2):
    tr = rg.extract(TEXT, prompt="What is 17 * 24?", model=smollm2, layers=(0.9, 0, -1))
    assert tr.layers == (27, 0, 30)  # in the order given; int(30 * 0.9) = 27; -1 is the last (after the final norm)
    entropy, logprob, hidden = _reference(smollm2, tr)
    assert _rel(tr.entropy, entropy) < 1e-5
    assert np.max(np.abs(tr.entropy - entropy)) < 1e-4
    assert _rel(tr.logprob, logprob) < 1e-5
    for k in tr.layers:
        assert tr.hidden[k].shape == (tr.n_tokens, 576)
        assert _rel(tr.hidden[k], hidden[k]) < 1e-5


@pytest.mark.model
def test_entropy_comes_from_previous_position(smollm2):
    """entropy[i] is the entropy of the logits at position prompt_len + i - 1, checked by shifting the prompt."""
    import torch

    tr = rg.extract(TEXT, prompt="Q: 17*24?", model=smollm2, layers=())
    with torch.no_grad():
        logits = smollm2.model(torch.tensor(tr.input_ids)[None]).logits[0].double()
    logp = torch.log_softmax(logits, -1)
    h = (-(logp.exp() * logp).sum(-1)).numpy()
    i = 5
    assert tr.entropy[i] == pytest.approx(h[tr.prompt_len + i - 1], rel=1e-5)
    assert tr.entropy[i] != pytest.approx(h[tr.prompt_len + i], rel=1e-3)
    assert tr.input_ids[tr.prompt_len + i] == smollm2.tokenizer(TEXT, add_special_tokens=False)["input_ids"][i]


@pytest.mark.model
def test_no_prompt_uses_bos(smollm2):
    tr = rg.extract(TEXT, model=smollm2, layers=())
    assert tr.prompt_len == 1 and tr.input_ids[0] == smollm2.tokenizer.bos_token_id
    assert np.isfinite(tr.entropy).all()


def test_no_prompt_no_bos_leaves_first_entropy_nan():
    lm = rg.tiny_random_model(seed=1, tokenizer=TINY_TOKENIZER)  # its own tokenizer object: the fixture's stays
    lm.tokenizer.bos_token = None
    assert lm.tokenizer.bos_token_id is None
    tr = rg.extract(TEXT, model=lm, layers=())
    assert tr.prompt_len == 0 and np.isnan(tr.entropy[0]) and np.isfinite(tr.entropy[1:]).all()


@pytest.mark.model
def test_batch_equals_single_on_real_traces(smollm2):
    recs = shared_records("skythought_math500_matched.jsonl", 3)
    texts = [r["trace"][:600] for r in recs]
    prompts = [r["problem"] for r in recs]
    batch = rg.extract_batch(texts, prompts, model=smollm2, batch_size=3)
    for text, prompt, b in zip(texts, prompts, batch):
        s = rg.extract(text, prompt, model=smollm2)
        np.testing.assert_allclose(b.entropy, s.entropy, atol=1e-4)
        np.testing.assert_allclose(b.logprob, s.logprob, atol=1e-4)
        layer = s.layers[0]
        assert _rel(b.hidden[layer], s.hidden[layer]) < 1e-4


def test_batch_equals_single_tiny(tiny):
    texts = [TEXT, TEXT[:50] + "\nAnother line here.", "Short trace, one line only."]
    batch = rg.extract_batch(texts, ["p1", None, "a longer prompt for the third"], model=tiny, layers=(0.5, -1))
    for t, p, b in zip(texts, ["p1", None, "a longer prompt for the third"], batch):
        s = rg.extract(t, p, model=tiny, layers=(0.5, -1))
        np.testing.assert_allclose(b.entropy, s.entropy, atol=1e-5)
        for k in s.layers:
            np.testing.assert_allclose(b.hidden[k], s.hidden[k], atol=1e-4)


@pytest.mark.model
def test_step_spans_exact_on_real_traces(smollm2):
    for rec in shared_records("thought_anchors_math_r1distill.jsonl", 4):
        from reasongraph.trace.extraction.encode import encode
        from reasongraph.trace.steps import segment_steps

        enc = encode(smollm2, rec["trace"], rec["problem"], truncate=True)
        for segment in ("newline", "sentence", "paragraph", "window:16", "token"):
            steps = segment_steps(enc.text, enc.offsets, segment)
            assert steps, segment
            for s in steps:
                assert s.text == enc.text[s.start_char:s.end_char]
                assert 0 <= s.start_token < s.end_token <= len(enc.offsets)
                # the step's tokens cover its characters
                assert enc.offsets[s.start_token, 0] <= s.start_char and enc.offsets[s.end_token - 1, 1] >= s.end_char
            if segment == "newline":
                lines = [ln.strip() for ln in enc.text.split("\n") if len(ln.strip()) > 5]
                assert [s.text for s in steps] == lines


def test_tokens_match_offsets(tiny):
    text = "Wait,   unicode é 日本 😀!\n\n  Indented line.\r\nDone."
    tr = rg.extract(text, model=tiny, layers=(), segment="newline")
    assert all(tok == text[a:b] for tok, (a, b) in zip(tr.tokens, tr.offsets))
    assert tr.offsets[0, 0] == 0 and tr.offsets[-1, 1] == len(text)
    assert (np.diff(tr.offsets[:, 0]) >= 0).all()
    assert [s.text for s in tr.steps] == ["Wait,   unicode é 日本 😀!", "Indented line.", ]


def test_layer_resolution():
    assert resolve_layers((0.9,), 30) == (27,)
    assert resolve_layers((0, -1, 0.5, 15), 30) == (0, 30, 15)  # in the order given: the first gives the steps
    assert resolve_layers((1.0,), 30) == (30,)
    for bad in ((31,), (-32,), (1.5,), ("x",), (True,)):
        with pytest.raises(ValueError):
            resolve_layers(bad, 30)


def test_errors(tiny):
    with pytest.raises(InputError, match="empty"):
        rg.extract("   \n ", model=tiny)
    long = "word " * 2100
    with pytest.raises(InputError, match="context of 2048"):
        rg.extract(long, model=tiny)
    with pytest.warns(UserWarning, match="dropped the last"):
        tr = rg.extract(long, prompt="p", model=tiny, truncate=True, layers=(-1,))
    assert len(tr.input_ids) == 2048 and tr.meta["tokens_dropped"] > 0
    assert tr.text == long[:tr.offsets[-1, 1]]
    with pytest.raises(ValueError, match="segment"):
        rg.extract("some text here", model=tiny, segment="lines")
    with pytest.raises(ValueError, match="temperature"):
        rg.extract("some text here", model=tiny, temperature=0)


def test_non_finite_hidden_states_name_the_layer(tiny):
    block = tiny.model.model.layers[0]
    handle = block.register_forward_hook(lambda m, i, o: (o[0] * float("inf"),) + tuple(o[1:])
                                         if isinstance(o, tuple) else o * float("inf"))
    try:
        with pytest.raises(InputError, match="layer 1 .*bfloat16"):
            rg.extract("A line of text here.", model=tiny, layers=(1,))
    finally:
        handle.remove()


def test_temperature_scales_logits(tiny):
    """Entropy and log-prob at T = 2 equal a float64 softmax(logits / 2) of the full logits."""
    import torch

    t1 = rg.extract(TEXT, model=tiny, layers=())
    t2 = rg.extract(TEXT, model=tiny, layers=(), temperature=2.0)
    with torch.no_grad():
        logits = tiny.model(torch.tensor(t2.input_ids)[None]).logits[0].double()
    logp = torch.log_softmax(logits / 2.0, -1)[t2.prompt_len - 1:-1]
    entropy = (-(logp.exp() * logp).sum(-1)).numpy()
    logprob = logp.gather(1, torch.tensor(t2.input_ids[t2.prompt_len:])[:, None])[:, 0].numpy()
    assert _rel(t2.entropy, entropy) < 1e-5
    assert _rel(t2.logprob, logprob) < 1e-5
    assert (t2.entropy > t1.entropy).mean() > 0.9  # a flatter distribution has more entropy
    assert t2.temperature == 2.0


def test_chat_format_puts_template_before_trace(tiny):
    tr = rg.extract(TEXT, prompt="What is 17*24?", model=tiny, prompt_format="chat", layers=())
    prefix = tiny.tokenizer.decode(tr.input_ids[:tr.prompt_len])
    assert "<|im_start|>user" in prefix and prefix.rstrip().endswith("assistant")
    assert tiny.tokenizer.decode(tr.input_ids[tr.prompt_len:]) == TEXT


def test_trace_round_trip(tiny, tmp_path):
    tr = rg.extract(TEXT, prompt="What is 17 * 24?", model=tiny, layers=(0, 0.5, -1), segment="sentence")
    path = tr.save(tmp_path / "t.npz")
    back = rg.Trace.load(path)
    for name in ("text", "prompt", "prompt_len", "tokens", "steps", "model_name", "layers", "segment",
                 "temperature", "meta"):
        assert getattr(back, name) == getattr(tr, name), name
    for name in ("input_ids", "offsets", "entropy", "logprob"):
        np.testing.assert_array_equal(getattr(back, name), getattr(tr, name))
    assert back.hidden.keys() == tr.hidden.keys()
    for k in tr.hidden:
        np.testing.assert_array_equal(back.hidden[k], tr.hidden[k])
    np.testing.assert_array_equal(back.step_vectors(), tr.step_vectors())


def test_load_rejects_other_files(tmp_path):
    # the full bad-file suite (truncated, bad CRC, other format, newer version, ...) is in test_npzfile.py
    bad = tmp_path / "x.npz"
    np.savez(bad, a=np.zeros(3))
    with pytest.raises(InputError, match="x.npz: not a reasongraph Trace file: the .npz has no 'header' entry"):
        rg.Trace.load(bad)
    obj = tmp_path / "pickled.npz"
    with open(obj, "wb") as f:
        np.savez(f, header=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError, match="pickled.npz: not a reasongraph Trace file: array 'header' holds pickled"):
        rg.Trace.load(obj)


def test_step_vectors_mean_and_last(tiny):
    tr = rg.extract(TEXT, model=tiny, layers=(-1,))
    h = tr.hidden[tr.layers[0]]
    s = tr.steps[1]
    np.testing.assert_allclose(tr.step_vectors()[1], h[s.start_token:s.end_token].mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(tr.step_vectors(pool="last")[1], h[s.end_token - 1])


def test_load_model_names_the_tiny_model():
    lm = rg.load_model("tiny-random-3")  # with the small tokenizer shipped in reasongraph/models/assets: no other files
    assert lm.name == "tiny-random-llama-3" and lm.num_layers == 2
    assert lm.model.config.vocab_size == len(lm.tokenizer) == 4096


@pytest.mark.model
def test_tiny_model_takes_the_real_smollm2_tokenizer():
    lm = rg.tiny_random_model(seed=3, tokenizer="smollm2")  # it reads the default model's files
    assert lm.model.config.vocab_size == len(lm.tokenizer) == 49152


def test_load_model_reports_missing_files(tmp_path):
    from reasongraph.core.errors import ModelNotAvailableError

    with pytest.raises(ModelNotAvailableError, match="GGUF file not found"):
        rg.load_model(tmp_path / "missing.gguf")
    with pytest.raises(InputError, match="tokenizer must be a tokenizer folder"):
        rg.tiny_random_model(tokenizer=tmp_path / "no-such-folder")


_LOAD_IN_CHILD = """
import hashlib, json, sys
import numpy as np, torch
import reasongraph as rg

lm = rg.load_model(device="cpu", dtype="float32")
digest = hashlib.sha256()
for name, tensor in sorted(lm.model.state_dict().items()):
    digest.update(name.encode() + tensor.contiguous().numpy().tobytes())
ids = lm.tokenizer(sys.argv[1], add_special_tokens=False)["input_ids"]
with torch.no_grad():
    np.save(sys.argv[2], lm.model(torch.tensor([ids])).logits[0].numpy())
print(json.dumps({"weights": digest.hexdigest(), "ids": ids, "gguf_read": "gguf" in sys.modules}))
"""


@pytest.mark.model
def test_second_load_in_a_new_process_reads_the_cache(smollm2, tmp_path):
    """A later load in a fresh process reads the de-quantized safetensors cache: it leaves the cache as it was,
    never imports the GGUF reader, and gives the same weights and outputs. (How long it takes:
    benchmarks/bench_load.py.)"""
    import hashlib
    import json
    import subprocess
    import sys

    import torch

    from reasongraph.models.smollm2 import dequantized_dir, default_gguf_path

    cache = dequantized_dir(default_gguf_path())  # the smollm2 fixture made sure it exists
    before = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    out = subprocess.run([sys.executable, "-c", _LOAD_IN_CHILD, TEXT, str(tmp_path / "logits.npy")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    child = json.loads(out.stdout.strip().splitlines()[-1])
    assert not child["gguf_read"] and "de-quantizing" not in out.stderr
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == before
    digest = hashlib.sha256()
    for name, tensor in sorted(smollm2.model.state_dict().items()):
        digest.update(name.encode() + tensor.contiguous().numpy().tobytes())
    assert child["weights"] == digest.hexdigest()
    ids = smollm2.tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    assert child["ids"] == ids
    with torch.no_grad():
        logits = smollm2.model(torch.tensor([ids])).logits[0].numpy()
    np.testing.assert_allclose(np.load(tmp_path / "logits.npy"), logits, rtol=0, atol=1e-4)
