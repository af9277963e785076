"""``reasongraph locus`` on the tiny random model: the ground truths of issue 18 with their numbers, the capture
before the final norm, exact self-patching, bad input, texts from files and run folders, and the command line.

A is the tiny 4-block Llama with its final norm scaled up (sharper distributions, so entropies move); B is A with
(a) its final norm's weight scaled by 1/0.6, a readout-only change at T = 0.6, or (b) block 2's weights perturbed
and the head untouched.
"""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import reasongraph as rg
from reasongraph.core.errors import InputError
from reasongraph.train.locus.locus import locus
from reasongraph.models.loaded import LoadedModel

TEXTS = [f"Step {i}: we add {i} and {i + 2}.\nWait, check it again.\nThen we get {2 * i + 2}.\nSo the answer is "
         f"{2 * i + 2}." for i in range(6)]
FAST = dict(layer_stride=1, patch_stride=1, n_boot=200)
PERTURBED = 1  # block index (0-based): it produces h_2


def _base():
    import torch

    lm = rg.tiny_random_model(seed=0, num_layers=4, device="cpu", dtype="float32")
    with torch.no_grad():
        lm.model.model.norm.weight.mul_(8.0)
    return lm


def _variant(a: LoadedModel, change) -> LoadedModel:
    import torch

    model = copy.deepcopy(a.model)
    with torch.no_grad():
        change(model)
    return LoadedModel(model=model, tokenizer=a.tokenizer, name="B", device=a.device, dtype=a.dtype)


def _readout(model):
    model.model.norm.weight.mul_(1 / 0.6)


def _block(model):
    import torch

    g = torch.Generator().manual_seed(1)
    for p in model.model.layers[PERTURBED].parameters():
        p.add_(torch.randn(p.shape, generator=g) * 0.5)


@pytest.fixture(scope="module")
def base():
    return _base()


@pytest.fixture(scope="module")
def readout(base):
    return locus(base, _variant(base, _readout), TEXTS, **FAST).scope()


@pytest.fixture(scope="module")
def block(base):
    return locus(base, _variant(base, _block), TEXTS, **FAST).scope()


def test_ground_truth_readout_only_change(readout):
    layers, splits = readout["layers"], readout["splits"]
    assert layers["layer"] == [0, 1, 2, 3, 4] and splits["layer"] == [0, 1, 2, 3, 4]
    assert readout["summary"]["head_only_share"] == pytest.approx(1.0, abs=1e-9)  # all of it in the head
    assert splits["late_share"] == pytest.approx([1.0] * 5, abs=1e-9)
    assert layers["cka"] == pytest.approx([1.0] * 5, abs=1e-9)
    assert layers["procrustes"] == pytest.approx([0.0] * 5, abs=1e-9)
    assert layers["knn_overlap"] == [1.0] * 5
    assert readout["summary"]["t_star"] == pytest.approx(0.6, abs=1e-4)
    assert readout["summary"]["t_share_explained"] == pytest.approx(1.0, abs=1e-6)
    assert layers["lens_ratio_a_head"] == pytest.approx([1.0] * 5, abs=1e-12)  # the trunks are the same
    assert all(r < 0.9 for r in layers["lens_ratio"])  # a changed head shows at every depth of the own-head lens
    assert readout["summary"]["locus_layer"] is None  # no trunk drop to locate
    assert readout["summary"]["drop"] > 0.5


def test_ground_truth_one_middle_block_changed(block):
    layers, splits, before = block["layers"], block["splits"], PERTURBED + 1  # h_0, h_1 precede the block
    assert abs(block["summary"]["head_only_share"]) <= 1e-6
    assert splits["late_share"][:before] == pytest.approx([1.0] * before, abs=1e-9)
    assert splits["late_share"][before:] == pytest.approx([0.0] * (5 - before), abs=1e-6)
    assert block["summary"]["half_drop_layer"] == before
    assert layers["cka"][:before] == pytest.approx([1.0] * before, abs=1e-9)
    assert max(layers["cka"][before:]) < 0.9
    assert layers["lens_ratio_a_head"][:before] == pytest.approx([1.0] * before, abs=1e-12)
    assert abs(layers["lens_ratio_a_head"][before] - 1.0) > 0.01  # the A-head lens departs from that layer
    assert layers["lens_ratio_a_head"] == pytest.approx(layers["lens_ratio"], abs=1e-12)  # the heads are equal
    assert abs(block["summary"]["drop"]) > 0.05


def test_the_last_state_is_taken_before_the_final_norm(base):
    import torch

    from reasongraph.models.hooks import final_norm
    from reasongraph.train.locus.residuals import capture_residuals, decoder_output

    ids = torch.tensor([base.tokenizer(TEXTS[0])["input_ids"]])
    seen = {}
    with torch.no_grad(), capture_residuals(base.model, [0, 4], lambda l, h: seen.__setitem__(l, h.clone())):
        final = decoder_output(base.model, ids)
        out = base.model(input_ids=ids, output_hidden_states=True)
    h_last = out.hidden_states[-1]
    assert torch.equal(h_last, final)  # HF's last hidden state is the decoder's output ...
    assert torch.allclose(h_last, final_norm(base.model)(seen[4]), atol=1e-6)  # ... which is norm(h_L)
    assert (h_last - seen[4]).abs().max() > 1.0  # and not h_L
    assert torch.equal(out.hidden_states[0], seen[0])


def test_a_model_patched_with_its_own_states_is_itself_and_the_lens_reads_its_entropy(base, tmp_path):
    from reasongraph.trace.extraction.encode import encode
    from reasongraph.train.locus.model_passes import lens, make_plan, own_pass, patch_pass
    from reasongraph.train.locus.layer_store import LayerStore

    enc = [encode(base, t, "Question?") for t in TEXTS[:3]]
    inputs = [e.input_ids for e in enc]
    plan = make_plan([len(x) for x in inputs], [e.prompt_len for e in enc], 4, layer_stride=1, patch_stride=1,
                     max_tokens=30, seed=0, temperature=1.0)
    assert plan.sample_text.size == 30
    store = LayerStore(tmp_path)
    own = own_pass(base, inputs, plan, store, "A")
    sums, _ = patch_pass(base, inputs, plan, store, "A")
    assert np.array_equal(sums, np.tile([o.sum() for o in own], (5, 1)))  # bitwise, at every split
    reference = rg.extract_batch(TEXTS[:3], ["Question?"] * 3, model=base, layers=(1,))
    for o, trace in zip(own, reference):
        assert o == pytest.approx(trace.entropy.astype(np.float64), abs=2e-5)
    last = lens(base, store, "A", plan)[-1]
    sampled = np.concatenate([own[i][plan.sample[i] - plan.starts[i] + 1] for i in range(3)])
    assert last == pytest.approx(sampled, abs=1e-5)


def test_entropy_at_several_temperatures_in_one_pass(base):
    import torch

    from reasongraph.models.head_entropy import entropy_at_temperatures, entropy_tensors

    h = torch.randn(37, base.hidden_size, generator=torch.Generator().manual_seed(0))
    grid = entropy_at_temperatures(base.model, h, [0.3, 1.0, 2.5], tile_bytes=1 << 14)  # several column tiles
    for k, t in enumerate([0.3, 1.0, 2.5]):
        one = entropy_tensors(base.model, h, torch.zeros(37, dtype=torch.long), t)[0]
        assert torch.allclose(grid[:, k], one, atol=1e-5)


def test_the_token_sample_is_seeded_and_bounded():
    from reasongraph.train.locus.model_passes import make_plan

    args = ([40, 30, 50], [10, 0, 5], 4)
    one = make_plan(*args, layer_stride=2, patch_stride=3, max_tokens=20, seed=3, temperature=1.0)
    two = make_plan(*args, layer_stride=2, patch_stride=3, max_tokens=20, seed=3, temperature=1.0)
    assert all(np.array_equal(a, b) for a, b in zip(one.sample, two.sample)) and one.sample_text.size == 20
    assert one.lens_layers == (0, 2, 4) and one.patch_layers == (0, 3, 4)
    assert all(s.min() >= st - 1 and s.max() < n - 1 for s, st, n in zip(one.sample, one.starts, one.lengths)
               if s.size)


def test_pairs_that_differ_are_refused_before_any_work(base):
    other = rg.tiny_random_model(seed=0, num_layers=4, hidden_size=32)
    with pytest.raises(InputError, match="differ in shape: parameter .* locus compares two checkpoints"):
        locus(base, other, TEXTS[:2])
    tok = copy.deepcopy(base.tokenizer)
    tok.bos_token = tok.eos_token
    renamed = LoadedModel(model=base.model, tokenizer=tok, name="B", device=base.device, dtype=base.dtype)
    with pytest.raises(InputError, match="different tokenizers"):
        locus(base, renamed, TEXTS[:2])
    with pytest.raises(InputError, match="patch_stride"):
        locus(base, base, TEXTS[:2], patch_stride=0)
    with pytest.raises(InputError, match="no such|not found"):
        locus(base, base, "missing.jsonl")
    with pytest.raises(InputError, match="no such|not found"):
        locus(base, base, ["a text", "missing.jsonl"][1:])  # a data file's name is a path, even in a list
    with pytest.raises(InputError, match="mixes paths and texts"):
        locus(base, base, ["a text", "missing.jsonl"])


def test_long_one_line_texts_are_texts(base):
    text = "A long line of reasoning " * 20  # longer than a file name may be
    assert locus(base, base, [text, text], n_boot=10).data["n_texts"] == 2


@pytest.fixture(scope="module")
def folders(tmp_path_factory, base):
    """A and B (block 2 perturbed) saved as model folders, and two JSONL sources of texts."""
    root = tmp_path_factory.mktemp("locus")
    for name, lm in (("A", base), ("B", _variant(base, _block))):
        lm.model.save_pretrained(root / name)
        lm.tokenizer.save_pretrained(root / name)
    for source, texts in (("base", TEXTS[:3]), ("rl<b>", TEXTS[3:])):
        (root / f"{source}.jsonl").write_text("".join(
            json.dumps({"id": f"{source}/{i}", "prompt": "Add the numbers.", "trace": t}) + "\n"
            for i, t in enumerate(texts)))
    return root


def test_cli_writes_locus_json_and_the_report_per_source(folders, capsys):
    from reasongraph.cli.app import main

    out = folders / "out"
    rc = main(["locus", "--a", str(folders / "A"), "--b", str(folders / "B"), str(folders / "base.jsonl"),
               str(folders / "rl<b>.jsonl"), "--prompt-field", "prompt", "--out", str(out), "--patch-stride", "2",
               "--n-boot", "100", "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "collapse locus" in text and "late share" in text and "not monotone in depth" in text
    data = json.loads((out / "locus.json").read_text())
    assert [s["name"] for s in data["scopes"]] == ["all", "base", "rl<b>"]
    assert data["options"]["patch_layers"] == [0, 2, 4] and data["options"]["lens_layers"] == [0, 1, 2, 3, 4]
    assert data["scopes"][1]["n_texts"] == 3 and data["scopes"][0]["n_tokens"] == sum(
        s["n_tokens"] for s in data["scopes"][1:])
    assert data["memory"]["model_mib"] > 0 and data["memory"]["peak_rss_mib"] >= data["memory"]["rss_start_mib"]
    assert set(data["timings"]) >= {"load_s", "passes_s", "head_swap_s", "patch_s", "lens_s", "temperature_s"}
    assert not (out / "states").exists()  # the layer states are removed after the run
    page = (out / "report.html").read_text()
    assert "renderLocus" in page and "rl<b>" not in page  # the source's name travels escaped
    rc = main(["locus", "--a", str(folders / "A"), "--b", str(folders / "B"), str(folders / "base.jsonl"),
               "--json", "--n-boot", "50", "--max-tokens", "10", "--quiet"])
    printed = json.loads(capsys.readouterr().out)
    assert rc == 0 and printed["scopes"][0]["n_sampled"] == 10 and printed["options"]["prompt_format"] == "raw"


def test_cli_refuses_a_pair_of_different_shapes_in_one_line(folders, tmp_path, capsys):
    from reasongraph.cli.app import main

    small = rg.tiny_random_model(seed=0, num_layers=2)
    small.model.save_pretrained(tmp_path / "small")
    small.tokenizer.save_pretrained(tmp_path / "small")
    capsys.readouterr()
    rc = main(["locus", "--a", str(folders / "A"), "--b", str(tmp_path / "small"), str(folders / "base.jsonl"),
               "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--a" in err[0] and "--b" in err[0] and "differ in shape" in err[0]


def test_texts_from_a_scored_run_folder(folders, base, tmp_path):
    rg.score_dataset(folders / "base.jsonl", out=tmp_path / "run", model=str(folders / "A"), prompt_field="prompt",
                     k=2, progress=False)
    result = locus(base, str(folders / "B"), tmp_path / "run", n_boot=50, patch_stride=4)
    direct = locus(base, str(folders / "B"), folders / "base.jsonl", prompt_field="prompt", n_boot=50,
                   patch_stride=4)
    assert result.data["n_texts"] == 3
    assert result.scope()["summary"]["drop"] == pytest.approx(direct.scope()["summary"]["drop"], abs=1e-9)
