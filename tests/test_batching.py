"""Length bucketing and the token budget of extract_batch; on CUDA, the pinned-copy path against the CPU.

The CUDA tests (named test_cuda_*) skip on a machine without CUDA; benchmarks/gpu_check.sh runs them. They build
their model with a tokenizer trained here, so they need neither the SmolLM2 files nor a model hub.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import reasongraph as rg
from reasongraph.core.errors import InputError
from reasongraph.models.head_entropy import check_head
from reasongraph.trace.extraction.batching import (BATCH_TOKEN_BUDGET, CPU_PASS_TOKENS, CUDA_BATCH_TOKEN_BUDGET,
                                                   CUDA_PASS_TOKENS, default_batch_tokens, length_batches,
                                                   pass_cost_tokens, padding_share)
from reasongraph.trace.extraction.encode import encode

from conftest import shared_records

TEXTS = ["Short one.", "A somewhat longer trace, with a second clause.\nAnd a line.",
         "Mid length trace here.\nTwo lines.", "Tiny.",
         "The longest trace of all of them, going on for a while.\nLine two is here.\nLine three ends it now."]


def test_length_batches_by_hand():
    lengths = [5, 3, 8, 3, 20]  # sorted: 3 (index 1), 3 (3), 5 (0), 8 (2), 20 (4)
    # no pass cost: only the equal lengths share a pass (6 = 3 + 3 tokens either way; the tie goes to fewer passes)
    assert length_batches(lengths, batch_tokens=16) == [[1, 3], [0], [2], [4]]
    # cost 100 a pass: [3 3] [5 8] [20] costs 6 + 16 + 20 + 300 = 342 < [3 3 5] [8] [20]: 15 + 8 + 20 + 300 = 343;
    # 2 x 8 = 16 fits the budget, 3 x 8 and 2 x 20 do not
    assert length_batches(lengths, batch_tokens=16, pass_tokens=100) == [[1, 3], [0, 2], [4]]
    assert padding_share(lengths, [[1, 3], [0, 2], [4]]) == pytest.approx(3 / 42)  # (16 - 13) / (6 + 16 + 20)
    assert length_batches(lengths, batch_tokens=16, pass_tokens=100, batch_size=1) == [[1], [3], [0], [2], [4]]
    assert length_batches(lengths, batch_tokens=1, pass_tokens=100) == [[1], [3], [0], [2], [4]]
    assert length_batches([], batch_tokens=16) == [] and padding_share([], []) == 0.0


def test_pass_cost_trades_padding_against_passes():
    lengths = [10, 40, 10, 10]
    # one pass of 4 x 40 = 160 tokens (90 of padding) against two of 30 + 40: a pass must cost more than 90 tokens
    assert length_batches(lengths, batch_tokens=160, pass_tokens=89) == [[0, 2, 3], [1]]
    assert length_batches(lengths, batch_tokens=160, pass_tokens=91) == [[0, 2, 3, 1]]
    assert padding_share(lengths, [[0, 2, 3, 1]]) == pytest.approx(90 / 160)
    assert length_batches(lengths, batch_tokens=159, pass_tokens=10**6) == [[0, 2, 3], [1]]  # the budget binds


def _brute_force_cost(lengths, budget, pass_tokens):
    """The least padded tokens + pass cost over every partition of the indices (any grouping, not only
    consecutive runs of the sorted order)."""
    def partitions(items):
        if not items:
            yield []
            return
        first, rest = items[0], items[1:]
        for part in partitions(rest):
            for k in range(len(part)):
                yield part[:k] + [[first] + part[k]] + part[k + 1:]
            yield [[first]] + part

    best = None
    for part in partitions(list(range(len(lengths)))):
        if all(len(b) == 1 or len(b) * max(lengths[i] for i in b) <= budget for b in part):
            cost = sum(len(b) * max(lengths[i] for i in b) + pass_tokens for b in part)
            best = cost if best is None else min(best, cost)
    return best


def test_length_batches_is_optimal_and_keeps_its_limits():
    rng = np.random.default_rng(0)
    for trial in range(30):  # against every partition of 7 lengths
        lengths = rng.integers(1, 60, size=7).tolist()
        budget, cost = int(rng.integers(60, 200)), int(rng.integers(0, 80))
        batches = length_batches(lengths, batch_tokens=budget, pass_tokens=cost)
        ours = sum(len(b) * max(lengths[i] for i in b) + cost for b in batches)
        assert ours == _brute_force_cost(lengths, budget, cost), (lengths, budget, cost)
    lengths = rng.integers(1, 3000, size=300).tolist()
    for budget, cap, cost in ((4096, None, 64), (16384, 8, 1024), (1000, None, 10**6)):
        batches = length_batches(lengths, batch_tokens=budget, batch_size=cap, pass_tokens=cost)
        assert sorted(i for b in batches for i in b) == list(range(300))  # each index once
        for b in batches:
            assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= budget
            assert cap is None or len(b) <= cap
        flat = [lengths[i] for b in batches for i in b]
        assert flat == sorted(flat)
        assert length_batches(lengths, batch_tokens=budget, batch_size=cap, pass_tokens=cost) == batches


def test_defaults_by_device():
    import torch

    assert default_batch_tokens(torch.device("cpu")) == BATCH_TOKEN_BUDGET == 4096
    assert default_batch_tokens(torch.device("cuda", 1)) == default_batch_tokens("cuda") == CUDA_BATCH_TOKEN_BUDGET
    assert pass_cost_tokens("cpu") == CPU_PASS_TOKENS < pass_cost_tokens(torch.device("cuda")) == CUDA_PASS_TOKENS


class _PassShapes:
    """A forward pre-hook on the decoder that records the (rows, width) of each forward pass."""

    def __init__(self, lm):
        self.lm, self.shapes = lm, []

    def __enter__(self):
        check_head(self.lm)  # its own forward pass, once per model: before the recording starts

        def hook(_module, _args, kwargs):
            self.shapes.append(tuple(kwargs["input_ids"].shape))
        self.handle = self.lm.model.get_decoder().register_forward_pre_hook(hook, with_kwargs=True)
        return self.shapes

    def __exit__(self, *exc):
        self.handle.remove()


@pytest.mark.parametrize("batch_tokens,batch_size", [(64, None), (64, 2), (10_000, None)])
def test_token_budget_sets_the_passes_and_results_match_single(tiny, batch_tokens, batch_size):
    prompts = ["p", None, "a longer prompt here", None, "q"]
    lengths = [len(encode(tiny, t, p).input_ids) for t, p in zip(TEXTS, prompts)]
    assert lengths == [5, 20, 14, 4, 32]
    expected = [(len(b), max(lengths[i] for i in b)) for b in length_batches(
        lengths, batch_tokens=batch_tokens, batch_size=batch_size, pass_tokens=CPU_PASS_TOKENS)]
    with _PassShapes(tiny) as shapes:
        batch = rg.extract_batch(TEXTS, prompts, model=tiny, layers=(0.5, -1), batch_tokens=batch_tokens,
                                 batch_size=batch_size)
    assert shapes == expected
    # sorted 4 5 14 20 32, a pass worth 64 tokens, 4 x 20 = 80 > 64: [4 5 14] [20 32] costs 42 + 64 + 2 x 64 = 234
    # against [4 5] [14 20] [32]: 10 + 40 + 32 + 3 x 64 = 274, which wins with 2 rows at most
    assert shapes == {None: [(3, 14), (2, 32)], 2: [(2, 5), (2, 20), (1, 32)]}[batch_size] if batch_tokens == 64 \
        else shapes == [(5, 32)]
    for text, prompt, b in zip(TEXTS, prompts, batch):
        single = rg.extract(text, prompt, model=tiny, layers=(0.5, -1))
        np.testing.assert_array_equal(b.input_ids, single.input_ids)
        np.testing.assert_allclose(b.entropy, single.entropy, atol=1e-5)
        np.testing.assert_allclose(b.logprob, single.logprob, atol=1e-5)
        for k in single.layers:
            np.testing.assert_allclose(b.hidden[k], single.hidden[k], atol=1e-4)


def test_cpu_defaults_pair_near_equal_lengths_within_4096_tokens(tiny):
    texts = ["the " * k for k in (1500, 700, 300, 1510, 301, 690)]
    assert [len(encode(tiny, t, None).input_ids) for t in texts] == [1502, 702, 302, 1512, 303, 692]
    with _PassShapes(tiny) as shapes:
        rg.extract_batch(texts, model=tiny, layers=())
    # each pair pads by at most 10 tokens, less than a pass's 64; 2 x 1512 <= 4096, and no pair joins another
    assert shapes == [(2, 303), (2, 702), (2, 1512)]
    with _PassShapes(tiny) as shapes:
        rg.extract_batch(texts, model=tiny, layers=(), batch_tokens=3000)
    assert shapes == [(2, 303), (2, 702), (1, 1502), (1, 1512)]  # 2 x 1512 > 3000


def test_batch_tokens_is_checked(tiny):
    for bad in (0, -5, 2.5, "many"):
        with pytest.raises(InputError, match="batch_tokens"):
            rg.extract_batch(["some text"], model=tiny, batch_tokens=bad)


@pytest.mark.model
def test_bucketed_batches_equal_single_on_real_traces(smollm2):
    """Real SkyThought traces cut to two pairs of near-equal lengths: the CPU defaults pair them in two padded
    passes, whose results equal one-at-a-time extraction within the batching tolerance. (The records share prompts,
    so prefix sharing, which runs a shared prompt once, is off here: this test is about length bucketing.)"""
    recs = shared_records("skythought_math500_matched.jsonl", 4)
    texts = [r["trace"][:n] for r, n in zip(recs, (600, 600, 400, 150))]
    prompts = [r["problem"] for r in recs]
    assert [len(encode(smollm2, t, p).input_ids) for t, p in zip(texts, prompts)] == [207, 204, 150, 164]
    with _PassShapes(smollm2) as shapes:
        batch = rg.extract_batch(texts, prompts, model=smollm2, share_prefix=False)
    assert shapes == [(2, 164), (2, 207)]  # 14 and 3 padding tokens, each less than a pass's 64
    for text, prompt, b in zip(texts, prompts, batch):
        single = rg.extract(text, prompt, model=smollm2)
        np.testing.assert_allclose(b.entropy, single.entropy, atol=1e-4)
        np.testing.assert_allclose(b.logprob, single.logprob, atol=1e-4)
        layer = single.layers[0]
        rel = np.linalg.norm(b.hidden[layer] - single.hidden[layer]) / np.linalg.norm(single.hidden[layer])
        assert rel < 1e-4


# ---------------------------------------------------------------------------------------------------- CUDA only
def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


cuda_only = pytest.mark.skipif(not _cuda(), reason="needs a CUDA device (benchmarks/gpu_check.sh runs these)")


def _trained_tokenizer():
    """A byte-level BPE trained on the example trace: a fast tokenizer with offsets, BOS and pad, no download."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    path = os.path.join(os.path.dirname(__file__), "..", "examples", "trace.txt")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator([open(path, encoding="utf-8").read()], trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<bos>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<bos>", pad_token="<bos>")


def _llama_pair(dtype_name: str, vocab: int = 20_000):
    """The same random Llama (4 blocks, hidden 128, ``vocab`` columns so the head spans several tiles) on CPU in
    float32 and on CUDA in ``dtype_name``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = _trained_tokenizer()
    config = LlamaConfig(vocab_size=vocab, hidden_size=128, intermediate_size=256, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         tie_word_embeddings=False, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id)
    torch.manual_seed(0)
    cpu = LlamaForCausalLM(config).eval().requires_grad_(False)
    torch.nn.init.normal_(cpu.lm_head.weight, std=0.2)  # peaked enough that entropies vary
    gpu = LlamaForCausalLM(config).eval().requires_grad_(False)
    gpu.load_state_dict(cpu.state_dict())
    dtype = getattr(torch, dtype_name)
    gpu = gpu.to("cuda", dtype)
    return (rg.LoadedModel(model=cpu, tokenizer=tok, name="llama-cpu", device=torch.device("cpu"),
                           dtype=torch.float32),
            rg.LoadedModel(model=gpu, tokenizer=tok, name="llama-cuda", device=torch.device("cuda"), dtype=dtype))


def _cuda_texts() -> list[str]:
    path = os.path.join(os.path.dirname(__file__), "..", "examples", "trace.txt")
    lines = [ln for ln in open(path, encoding="utf-8").read().splitlines() if ln.strip()]
    return ["\n".join(lines[i:i + n]) for i, n in ((0, 3), (2, 1), (1, 6), (4, 2), (0, 9))]


@cuda_only
def test_cuda_float32_matches_cpu_in_several_passes(monkeypatch):
    """Pinned non-blocking copies, the side stream, the compiled head (over many vocabulary tiles) and the
    pipelined passes give the CPU's numbers: float32 on both, TF32 off (torch's default for matmul)."""
    from reasongraph.models import head_entropy

    monkeypatch.setattr(head_entropy, "ACCELERATOR_TILE_BYTES", 1 << 20)  # ~1000 columns a tile, not all 20k
    cpu, gpu = _llama_pair("float32")
    texts, prompts = _cuda_texts(), ["Q1", None, "Question three?", None, "Q5"]
    ref = rg.extract_batch(texts, prompts, model=cpu, layers=(0, 2, -1), batch_size=1)
    with _PassShapes(gpu) as shapes:
        out = rg.extract_batch(texts, prompts, model=gpu, layers=(0, 2, -1), batch_tokens=200)
    assert len(shapes) >= 3 and any(rows > 1 for rows, _ in shapes)
    assert head_entropy._compiled.get(head_entropy.COMPILE_BACKEND) is not None, "the fused head did not compile"
    for r, o in zip(ref, out):
        np.testing.assert_array_equal(o.input_ids, r.input_ids)
        np.testing.assert_allclose(o.entropy, r.entropy, atol=1e-4)
        np.testing.assert_allclose(o.logprob, r.logprob, atol=1e-4)
        for k in r.layers:
            assert o.hidden[k].dtype == np.float32
            assert np.linalg.norm(o.hidden[k] - r.hidden[k]) / np.linalg.norm(r.hidden[k]) < 1e-4


@cuda_only
def test_cuda_bf16_hidden_states_are_the_models_own():
    """In bf16 the captured rows travel as bf16 and are widened on the host: exactly the model's
    output_hidden_states; entropies match a float64 softmax of the model's bf16 logits to bf16 rounding."""
    import torch

    _, gpu = _llama_pair("bfloat16")
    text = _cuda_texts()[2]
    tr = rg.extract(text, prompt="Q", model=gpu, layers=(0, 2, -1))
    ids = torch.tensor(tr.input_ids, device="cuda")[None]
    with torch.inference_mode():  # the same inputs as extraction's, mask included: the same kernels
        out = gpu.model(input_ids=ids, attention_mask=torch.ones_like(ids), output_hidden_states=True)
    p = tr.prompt_len
    for k in tr.layers:
        np.testing.assert_array_equal(tr.hidden[k], out.hidden_states[k][0, p:].float().cpu().numpy())
    logp = torch.log_softmax(out.logits[0].double(), -1)[p - 1:-1]
    entropy = (-(logp.exp() * logp).sum(-1)).cpu().numpy()
    assert np.linalg.norm(tr.entropy - entropy) / np.linalg.norm(entropy) < 1e-2


@cuda_only
def test_cuda_non_finite_layer_is_named():
    _, gpu = _llama_pair("float16")
    check_head(gpu)  # before the hook below breaks the model
    block = gpu.model.model.layers[0]
    handle = block.register_forward_hook(lambda m, i, o: (o[0] * float("inf"),) + tuple(o[1:])
                                         if isinstance(o, tuple) else o * float("inf"))
    try:
        with pytest.raises(InputError, match="layer 1 .*bfloat16"):
            rg.extract(_cuda_texts()[0], model=gpu, layers=(1,))
    finally:
        handle.remove()
