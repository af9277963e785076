"""Entropy streamed over vocabulary tiles, against a float64 softmax of the full logits."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import reasongraph as rg
from reasongraph.core.errors import InputError
from reasongraph.models.head_entropy import ROW_TILE, check_head, token_entropy


class _Head(torch.nn.Module):
    """A bare LM head with a config: the two things token_entropy reads from a causal LM."""

    def __init__(self, d: int, vocab: int, scale: float, bias: bool = False, softcap: float | None = None):
        super().__init__()
        self.lm_head = torch.nn.Linear(d, vocab, bias=bias)
        torch.nn.init.normal_(self.lm_head.weight, std=scale)
        self.config = type("Config", (), {"final_logit_softcapping": softcap})()

    def get_output_embeddings(self):
        return self.lm_head


def _reference(head: _Head, hidden, targets, temperature=1.0):
    z = head.lm_head(hidden).double()
    cap = head.config.final_logit_softcapping
    if cap:
        z = torch.tanh(z / cap) * cap
    logp = torch.log_softmax(z / temperature, -1)
    return (-(logp.exp() * logp).sum(-1)).numpy(), logp.gather(1, targets[:, None])[:, 0].numpy()


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("tile_bytes", [4 * 300 * 7, 4 * 300 * 64, 1 << 30])  # 7-column, 64-column, one tile
@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_tiles_match_float64(tile_bytes, temperature):
    torch.manual_seed(0)
    head = _Head(16, 1000, scale=1.0, bias=True)
    hidden, targets = torch.randn(300, 16), torch.randint(0, 1000, (300,))
    targets[:3] = torch.tensor([0, 999, 993])  # first column, last column, inside the last partial tile
    with torch.no_grad():
        entropy, logprob = token_entropy(head, hidden, targets, temperature, tile_bytes=tile_bytes)
        ref_entropy, ref_logprob = _reference(head, hidden, targets, temperature)
    assert entropy.dtype == np.float32 and entropy.shape == (300,)
    assert _rel(entropy, ref_entropy) < 1e-6
    assert _rel(logprob, ref_logprob) < 1e-6


def test_rows_beyond_one_row_tile_and_softcapping():
    torch.manual_seed(1)
    head = _Head(8, 50, scale=3.0, softcap=5.0)
    n = ROW_TILE + 7
    hidden, targets = torch.randn(n, 8), torch.randint(0, 50, (n,))
    with torch.no_grad():
        entropy, logprob = token_entropy(head, hidden, targets, tile_bytes=4 * ROW_TILE * 9)
        ref_entropy, ref_logprob = _reference(head, hidden, targets)
    assert _rel(entropy, ref_entropy) < 1e-6
    assert _rel(logprob, ref_logprob) < 1e-6


def test_peaked_distributions_stay_finite():
    """Logits spread over thousands of nats: the max moves between tiles and exp underflows, nothing overflows."""
    torch.manual_seed(2)
    head = _Head(4, 256, scale=1000.0)
    hidden, targets = torch.randn(64, 4), torch.randint(0, 256, (64,))
    with torch.no_grad():
        entropy, logprob = token_entropy(head, hidden, targets, tile_bytes=4 * 64 * 16)
        ref_entropy, ref_logprob = _reference(head, hidden, targets)
    assert np.isfinite(entropy).all() and np.isfinite(logprob).all()
    np.testing.assert_allclose(entropy, ref_entropy, atol=1e-5)
    np.testing.assert_allclose(logprob, ref_logprob, rtol=1e-6)


def test_no_rows():
    head = _Head(4, 10, scale=1.0)
    entropy, logprob = token_entropy(head, torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))
    assert entropy.shape == logprob.shape == (0,)


def test_softcapped_model_matches_its_own_logits(tiny):
    """A (tiny, random) Gemma 2 soft-caps its logits; extraction reproduces the model's float64 softmax."""
    from transformers import Gemma2Config, Gemma2ForCausalLM

    torch.manual_seed(0)
    config = Gemma2Config(vocab_size=len(tiny.tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, head_dim=16, final_logit_softcapping=0.5,
                          max_position_embeddings=512, pad_token_id=tiny.tokenizer.pad_token_id)
    model = Gemma2ForCausalLM(config).eval()
    torch.nn.init.normal_(model.lm_head.weight, std=1.0)  # logits beyond the cap, so capping changes them
    lm = rg.LoadedModel(model=model, tokenizer=tiny.tokenizer, name="tiny-gemma2", device=tiny.device,
                        dtype=torch.float32)
    tr = rg.extract("Soft caps keep logits in range.\nSo entropy must see them.\n", prompt="Q", model=lm, layers=())
    with torch.no_grad():
        logits = model(torch.tensor(tr.input_ids)[None]).logits[0].double()
    assert float(logits.abs().max()) <= 0.5  # the cap is on
    logp = torch.log_softmax(logits, -1)[tr.prompt_len - 1:-1]
    assert _rel(tr.entropy, (-(logp.exp() * logp).sum(-1)).numpy()) < 1e-6


def test_unknown_logit_post_processing_is_an_error(tiny, tmp_path):
    """A model whose logits are not head(last hidden state) is refused, rather than given wrong entropies; a batch
    run stops before it writes anything, instead of failing every record."""
    model = rg.tiny_random_model(seed=3, tokenizer=tiny.tokenizer).model
    lm = rg.LoadedModel(model=model, tokenizer=tiny.tokenizer, name="scaled-logits", device=tiny.device,
                        dtype=torch.float32)
    handle = model.lm_head.register_forward_hook(lambda _m, _i, out: out * 2.0)
    data = tmp_path / "in.jsonl"
    data.write_text('{"trace": "one line of reasoning here\\nand a second line"}\n')
    try:
        with pytest.raises(InputError, match="scaled-logits: its logits are not the LM head"):
            check_head(lm)
        with pytest.raises(InputError, match="scaled-logits: its logits are not the LM head"):
            rg.score_dataset(data, model=lm, out=tmp_path / "run", progress=False)
        assert not (tmp_path / "run").exists()
    finally:
        handle.remove()
    check_head(lm)  # the same model without the scaling passes


def _fused_case(device="cpu", dtype=None):
    """A soft-capped head with a bias over two row blocks, its inputs and its float64 reference."""
    torch.manual_seed(4)
    head = _Head(8, 50, scale=3.0, bias=True, softcap=5.0).to(device, dtype)
    n = ROW_TILE + 7
    hidden = torch.randn(n, 8, device=device, dtype=dtype)
    targets = torch.randint(0, 50, (n,), device=device)
    with torch.no_grad():
        cpu_head = _Head(8, 50, scale=1.0, bias=True, softcap=5.0)
        cpu_head.load_state_dict({k: v.double().cpu() for k, v in head.state_dict().items()})
        cpu_head.double()
        ref = _reference(cpu_head, hidden.double().cpu(), targets.cpu(), 0.7)
    return head, hidden, targets, ref


@pytest.mark.slow
def test_fused_tile_update_traces_and_matches_float64(monkeypatch):
    """The function torch.compile fuses, traced by dynamo (the aot_eager backend: the graph torch.compile builds,
    run without code generation, which the CPU default does not use), gives the float64 numbers."""
    from reasongraph.models import head_entropy

    monkeypatch.setattr(head_entropy, "COMPILE_BACKEND", "aot_eager")
    head, hidden, targets, (ref_entropy, ref_logprob) = _fused_case()
    with torch.inference_mode():
        entropy, logprob = token_entropy(head, hidden, targets, 0.7, tile_bytes=4 * ROW_TILE * 9, fused=True)
    assert head_entropy._compiled["aot_eager"] is not None  # compiled, not fallen back
    assert _rel(entropy, ref_entropy) < 1e-6
    assert _rel(logprob, ref_logprob) < 1e-6


def test_compile_failure_is_logged_once_and_the_eager_head_used(monkeypatch, caplog):
    from reasongraph.models import head_entropy

    def broken_backend(graph_module, example_inputs):
        raise RuntimeError("no compiler on this machine")

    monkeypatch.setattr(head_entropy, "COMPILE_BACKEND", broken_backend)
    head, hidden, targets, _ = _fused_case()
    with torch.inference_mode():
        eager = token_entropy(head, hidden, targets, 0.7, tile_bytes=4 * ROW_TILE * 9, fused=False)
        eager_short = token_entropy(head, hidden[:100], targets[:100], 0.7, fused=False)
        with caplog.at_level("WARNING", logger="reasongraph"):
            first = token_entropy(head, hidden, targets, 0.7, tile_bytes=4 * ROW_TILE * 9, fused=True)
            second = token_entropy(head, hidden[:100], targets[:100], 0.7, fused=True)
    failures = [r for r in caplog.records if "torch.compile of the entropy head failed" in r.getMessage()]
    assert len(failures) == 1 and "no compiler on this machine" in failures[0].getMessage()
    assert head_entropy._compiled[broken_backend] is None
    for got, want in zip(first, eager):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(second, eager_short):
        np.testing.assert_array_equal(got, want)


cuda_only = pytest.mark.skipif(not torch.cuda.is_available(),
                               reason="needs a CUDA device (benchmarks/gpu_check.sh runs these)")


@cuda_only
@pytest.mark.parametrize("fused", [True, False])
def test_cuda_head_matches_float64(fused):
    """On CUDA, float32: the inductor-compiled head (and the eager one) against float64; TF32 is off by default."""
    from reasongraph.models import head_entropy

    head, hidden, targets, (ref_entropy, ref_logprob) = _fused_case("cuda")
    with torch.inference_mode():
        entropy, logprob = token_entropy(head, hidden, targets, 0.7, tile_bytes=4 * ROW_TILE * 9, fused=fused)
    if fused:
        assert head_entropy._compiled.get("inductor") is not None, "torch.compile failed on this GPU"
    assert _rel(entropy, ref_entropy) < 1e-5
    assert _rel(logprob, ref_logprob) < 1e-5


@cuda_only
def test_cuda_fused_bf16_head_equals_eager():
    """bf16 weights: both heads take the same bf16 logits from the matmul, then reduce in float32."""
    torch.manual_seed(5)
    head = _Head(64, 30_000, scale=0.5).to("cuda", torch.bfloat16)
    hidden = torch.randn(3000, 64, device="cuda", dtype=torch.bfloat16)
    targets = torch.randint(0, 30_000, (3000,), device="cuda")
    with torch.inference_mode():
        fused = token_entropy(head, hidden, targets, fused=True)
        eager = token_entropy(head, hidden, targets, fused=False)
    np.testing.assert_allclose(fused[0], eager[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fused[1], eager[1], rtol=1e-4, atol=1e-4)
